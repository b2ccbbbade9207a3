// Package sink receives BRC-124 frames for benchmarks — unicast UDP (what a
// listener forwards to), TCP, or a multicast tap joined to every shard group —
// and counts them: frames, unique and duplicate TxIDs, per-flow SeqNum gaps,
// reorders and duplicates (stamped frames), bytes and latency percentiles from
// the send time the load generator embeds. A run stops on a duration, on
// idleness or once it has seen an expected number of unique TxIDs.
package sink

import (
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/cli"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// Sources (Config.Proto).
const (
	ProtoUDP       = "udp"
	ProtoTCP       = "tcp"
	ProtoMulticast = "multicast"
)

// Defaults and limits.
const (
	// DefaultMaxTxIDs caps the unique-TxID set: 20 M fingerprints, about
	// 0.5 GiB at most.
	DefaultMaxTxIDs = 20_000_000
	// DefaultMaxFlows caps the flow table (about 150 bytes a flow).
	DefaultMaxFlows = 100_000
	// MaxConns caps concurrent TCP connections.
	MaxConns = 256
)

// Config describes one sink run.
type Config struct {
	// Proto is ProtoUDP, ProtoTCP or ProtoMulticast.
	Proto string
	// Listen is the unicast address to bind (UDP, TCP).
	Listen string
	// Fabric says which groups the multicast tap joins, where.
	Fabric fabric.Options
	// Duration bounds the run; it must be positive.
	Duration time.Duration
	// Idle stops the run once no frame arrived for that long after the
	// first one; 0 disables it.
	Idle time.Duration
	// Expect stops the run once that many unique TxIDs were seen; 0
	// disables it.
	Expect uint64
	// MaxTxIDs caps the unique-TxID set; MaxFlows the flow table.
	MaxTxIDs, MaxFlows int
	// Batch is the most datagrams per receive call.
	Batch int
}

// DefaultConfig returns the defaults of the sink flags.
func DefaultConfig() Config {
	return Config{
		Proto:    ProtoUDP,
		Listen:   "127.0.0.1:9100",
		Fabric:   fabric.Defaults(),
		Duration: time.Minute,
		MaxTxIDs: DefaultMaxTxIDs,
		MaxFlows: DefaultMaxFlows,
		Batch:    udpio.DefaultBatch,
	}
}

// Validate checks c and returns an error naming the flag at fault.
func (c *Config) Validate() error {
	var p cli.Problems
	bad := p.Add
	p.Proto(c.Proto, c.Listen, "listen")
	if c.Duration <= 0 {
		bad("duration", "%v: must be positive (it bounds every run)", c.Duration)
	}
	if c.Idle < 0 {
		bad("idle", "%v: must not be negative (0 = off)", c.Idle)
	}
	if c.MaxTxIDs < 1 {
		bad("max-txids", "%d: must be at least 1", c.MaxTxIDs)
	}
	if c.MaxFlows < 1 {
		bad("max-flows", "%d: must be at least 1", c.MaxFlows)
	}
	if c.Batch < 1 || c.Batch > 1024 {
		bad("batch", "%d: must be 1–1024", c.Batch)
	}
	p.AddErr(c.Fabric.Validate())
	return p.Err()
}
