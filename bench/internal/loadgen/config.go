// Package loadgen generates BRC-124 frame traffic for benchmarks: to a
// unicast ingress (UDP or TCP) or straight onto the multicast fabric, paced
// or flat out, with duplicates the way real fleets make them (repeated TxIDs,
// redundant submitters) and optionally stamped flows with injected SeqNum
// holes. Every loop is bounded by a duration and optionally a frame count.
package loadgen

import (
	"net/netip"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/cli"
	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// Destinations (Config.Proto).
const (
	ProtoUDP       = "udp"       // datagrams to a unicast address (proxy or relay ingress)
	ProtoTCP       = "tcp"       // frames back to back on one TCP connection per socket
	ProtoMulticast = "multicast" // frames to their shard groups, straight onto the fabric
)

// Limits of the configuration.
const (
	// RingSize is how many recent TxIDs each sender keeps for -dup-ratio.
	RingSize = 4096
	// MaxSubtrees bounds -subtrees (and so the per-sender flow table).
	MaxSubtrees = 1 << 16
	// MaxSenders bounds -senders.
	MaxSenders = 256
	// MaxDupSources bounds -dup-sources.
	MaxDupSources = 16
	// MaxBatch bounds -batch (the kernel's UIO_MAXIOV).
	MaxBatch = 1024
)

// Config describes one load run. Rate and Count count frames generated;
// each frame is sent from DupSources sockets, so the datagrams sent are
// Frames × DupSources (× interfaces in multicast mode).
type Config struct {
	// Proto is ProtoUDP, ProtoTCP or ProtoMulticast.
	Proto string
	// To is the unicast destination host:port (UDP and TCP).
	To string
	// Fabric locates the groups (multicast mode) and gives the shard width
	// used for stamping.
	Fabric fabric.Options
	// Rate is the total frames per second over all senders; 0 sends as
	// fast as the sockets take them.
	Rate float64
	// Duration bounds the run; it must be positive.
	Duration time.Duration
	// Count bounds the frames generated; 0 means only Duration bounds.
	Count uint64
	// PayloadMin and PayloadMax bound the payload size, drawn uniformly per
	// frame (equal for a fixed size); at least wire.MinPayload.
	PayloadMin, PayloadMax int
	// Subtrees is the number of distinct SubtreeIDs (0 = all zeros, unset).
	Subtrees int
	// Senders is the number of sending goroutines, each with its own
	// socket(s) and so its own source port.
	Senders int
	// DupRatio is the probability that a frame repeats a recent TxID.
	DupRatio float64
	// DupSources is the number of sockets every frame is sent from.
	DupSources int
	// Stamp makes the generator stamp HashKey and SeqNum itself, as a proxy
	// would, with sender i using FlowSource+i as its flow identity.
	Stamp bool
	// FlowSource is the flow identity of sender 0 when stamping.
	FlowSource netip.Addr
	// SkipEvery leaves a SeqNum hole before every SkipEvery-th frame of a
	// sender (stamping only; 0 = none). A flow's first frame never skips.
	SkipEvery uint64
	// Seed seeds the TxID and size generators.
	Seed uint64
	// Batch is the most frames per send call.
	Batch int
}

// DefaultConfig returns the defaults of the loadgen flags.
func DefaultConfig() Config {
	return Config{
		Proto:      ProtoUDP,
		To:         "127.0.0.1:8725",
		Fabric:     fabric.Defaults(),
		Duration:   10 * time.Second,
		PayloadMin: 256,
		PayloadMax: 256,
		Senders:    1,
		DupSources: 1,
		FlowSource: netip.MustParseAddr("127.0.0.1"),
		Seed:       1,
		Batch:      udpio.DefaultBatch,
	}
}

// Validate checks c and returns an error naming the flag at fault.
func (c *Config) Validate() error {
	var p cli.Problems
	bad := p.Add
	p.Proto(c.Proto, c.To, "to")
	if c.Rate < 0 {
		bad("rate", "%v: must not be negative (0 = flat out)", c.Rate)
	}
	if c.Duration <= 0 {
		bad("duration", "%v: must be positive (it bounds every run)", c.Duration)
	}
	if c.PayloadMin < wire.MinPayload || c.PayloadMax > wire.MaxPayload || c.PayloadMin > c.PayloadMax {
		bad("payload", "%d-%d: sizes must be %d–%d bytes", c.PayloadMin, c.PayloadMax, wire.MinPayload, wire.MaxPayload)
	}
	if c.Subtrees < 0 || c.Subtrees > MaxSubtrees {
		bad("subtrees", "%d: must be 0–%d", c.Subtrees, MaxSubtrees)
	}
	if c.Senders < 1 || c.Senders > MaxSenders {
		bad("senders", "%d: must be 1–%d", c.Senders, MaxSenders)
	}
	if c.DupRatio < 0 || c.DupRatio >= 1 {
		bad("dup-ratio", "%v: must be in [0, 1)", c.DupRatio)
	}
	if c.DupSources < 1 || c.DupSources > MaxDupSources {
		bad("dup-sources", "%d: must be 1–%d", c.DupSources, MaxDupSources)
	}
	if c.SkipEvery > 0 && !c.Stamp {
		bad("skip-every", "needs -stamp: holes are SeqNum holes")
	}
	if c.Stamp && !c.FlowSource.IsValid() {
		bad("flow-source", "-stamp needs a flow identity address")
	}
	if c.Batch < 1 || c.Batch > MaxBatch {
		bad("batch", "%d: must be 1–%d", c.Batch, MaxBatch)
	}
	p.AddErr(c.Fabric.Validate())
	return p.Err()
}
