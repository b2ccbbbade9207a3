package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/envflag"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// Defaults of Options fields (and of the binary's flags).
const (
	// DefaultListen is the UDP ingress address: every address, port 8725
	// (PROTOCOL §3.4), dual stack.
	DefaultListen = "[::]:8725"
	// MaxBatch bounds Options.Batch (the kernel's UIO_MAXIOV).
	MaxBatch = 1024
	// DefaultBackendReaders and DefaultBackendBatch are the readers per
	// ingress socket and the recvmmsg batch when a claim backend is
	// configured: up to 8 × 256 claims in flight per socket, enough to hide
	// a loopback or same-rack Redis round trip (measured on loopback: 0.45×
	// the bare relay's rate with 4 × 64, 0.62–0.70× with 8 × 256). The
	// receive buffers then take readers × batch × MaxDatagram of address
	// space per socket, touched only as datagrams arrive.
	DefaultBackendReaders = 8
	DefaultBackendBatch   = 256
	// DefaultMaxDatagram is the receive buffer of one datagram: the largest
	// UDP payload, so jumbo datagrams arrive whole and get fragmented.
	// Memory: workers × batch × 64 KiB (4 MiB per worker at batch 64), of
	// which only the bytes received are touched.
	DefaultMaxDatagram = 65535
	// DefaultFragMTU is the path MTU fragmentation sizes for (the binary's
	// -frag-mtu default; Options.FragMTU 0 turns fragmentation off).
	DefaultFragMTU = 1500
	// DefaultMaxFlows bounds the flow table (about 150 bytes per flow, and
	// about 58 more per flow for the tombs of evicted flows once the
	// cap is reached).
	DefaultMaxFlows = 1 << 18
	// DefaultFlowIdle is how long an unused flow is kept. It exceeds the
	// longest retry-endpoint frame TTL (blocks, 10 min) with margin, so a
	// flow re-created after expiry (SeqNum 1 again, same HashKey) cannot
	// collide with frames an endpoint still caches under HashKey‖SeqNum.
	DefaultFlowIdle = 15 * time.Minute
	// DefaultDedupCap is the tier-1 capacity (the binary's -dedup-local-cap
	// default; Options.DedupCap 0 turns dedup off).
	DefaultDedupCap = 1 << 20
	// DefaultDedupPrefix is the backend key prefix of ingress claims,
	// shared with the reference proxies and the listeners' courtesy marks.
	DefaultDedupPrefix = "bsp:tx:"
	// DefaultTCPReadTimeout bounds the arrival of one TCP frame, from its
	// first byte to its last.
	DefaultTCPReadTimeout = 10 * time.Second
	// DefaultTCPIdleTimeout closes a TCP connection on which no frame
	// starts for this long.
	DefaultTCPIdleTimeout = 5 * time.Minute
	// DefaultTCPMaxConns bounds open TCP connections (each holds a 64 KiB
	// read buffer, its egress sockets and, transiently, one big frame).
	DefaultTCPMaxConns = 256
	// DefaultDrainTimeout bounds the drain after a stop signal.
	DefaultDrainTimeout = 5 * time.Second
	// DefaultDrainQuiet ends the drain early once no datagram arrived for
	// this long.
	DefaultDrainQuiet = 250 * time.Millisecond
)

// Options configures a Proxy. Zero values mean the default named in each
// comment; where zero switches a feature off, the comment says so.
type Options struct {
	// Listen is the UDP ingress address ("" = DefaultListen).
	Listen string
	// Workers is the number of UDP ingress sockets (SO_REUSEPORT), each
	// read by Readers workers (0 = GOMAXPROCS).
	Workers int
	// Readers is the number of workers taking turns on each ingress socket,
	// each with its own egress and claim handle, so that one waits for its
	// backend round trip while another reads and processes the next batch
	// (0 = 1 without a claim backend, DefaultBackendReaders with one).
	// Frames of one flow may then leave in a different order than they
	// arrived; their SeqNums still have no gap and no repeat.
	Readers int
	// Batch is the most datagrams one recvmmsg reads, and so the most
	// claims of one round trip (0 = udpio.DefaultBatch, or
	// DefaultBackendBatch with a claim backend; at most MaxBatch).
	Batch int
	// MaxDatagram is the receive buffer per datagram; longer datagrams are
	// dropped as "truncated" (0 = DefaultMaxDatagram).
	MaxDatagram int
	// RecvBuffer is SO_RCVBUF of the ingress sockets (0 = kernel default).
	RecvBuffer int
	// MaxPayload bounds PayloadLen of an input frame, checked before a TCP
	// reader allocates (0 = frame.DefaultMaxPayload, 10 MiB).
	MaxPayload int

	// TCPListen is the TCP ingress address ("" = no TCP ingress).
	TCPListen string
	// TCPReadTimeout bounds one frame's arrival (0 = DefaultTCPReadTimeout).
	TCPReadTimeout time.Duration
	// TCPIdleTimeout bounds the wait for a frame to start (0 =
	// DefaultTCPIdleTimeout).
	TCPIdleTimeout time.Duration
	// TCPMaxConns bounds open connections; more are closed at once and
	// counted (0 = DefaultTCPMaxConns).
	TCPMaxConns int

	// Fabric says where frames go: interfaces, port, shard bits, IPv6
	// scope/mode/group-id or IPv4 base, hops, loop, send buffer. Its zero
	// value has loop off: start from fabric.Defaults.
	Fabric fabric.Options
	// FlowSource is the proxy's flow identity, the source ingredient of
	// every HashKey it stamps; it must be unique per proxy instance (zero =
	// the primary address of the first egress interface, see
	// DefaultFlowSource).
	FlowSource netip.Addr
	// FragMTU is the path MTU that payloads are fragmented for (BRC-130);
	// at least frame.MinMTU. 0 turns fragmentation off: payloads above
	// the MTU then go out as single (IP-fragmented) datagrams.
	FragMTU int
	// AcceptControl admits V4 block and V5 subtree-data frames (privileged
	// lanes); without it they are dropped as "unprivileged_control".
	AcceptControl bool
	// MaxFlows bounds the flow table; the least recently used flow of a
	// full shard is evicted (0 = DefaultMaxFlows).
	MaxFlows int
	// FlowIdle expires flows unused for this long (0 = DefaultFlowIdle).
	FlowIdle time.Duration
	// StateFile, when set, is where the flow table is saved at shutdown and
	// read back (then removed) at start, so that flows continue their
	// SeqNums across a restart (see flowstate.go). Its directory must exist.
	StateFile string

	// DedupCap is the tier-1 capacity of the TxID claim set. 0 turns dedup
	// off: every frame is forwarded.
	DedupCap int
	// DedupTTL is the claim lifetime (0 = txidset.DefaultTTL, 10 min).
	DedupTTL time.Duration
	// DedupPrefix prefixes backend claim keys ("" = DefaultDedupPrefix).
	DedupPrefix string
	// Backend is the claim backend, opened in the background (nil or
	// backend "none" = tier 1 only). Deps.Backend overrides it.
	Backend *cache.Config
	// RequireBackend makes /readyz fail while the backend is down.
	RequireBackend bool

	// DrainTimeout bounds the drain after ctx ends (0 = DefaultDrainTimeout).
	DrainTimeout time.Duration
	// DrainQuiet ends the drain once the sockets were idle this long (0 =
	// DefaultDrainQuiet).
	DrainQuiet time.Duration
}

// Deps are the proxy's collaborators; zero fields mean the real thing.
type Deps struct {
	// Registerer receives the metrics (nil = not registered).
	Registerer prometheus.Registerer
	// Logger receives state changes, never per-packet lines (nil = discard).
	Logger *slog.Logger
	// Backend is a ready claim backend owned by the caller; it overrides
	// Options.Backend.
	Backend cache.Backend
	// NewEgress opens one worker's egress (nil = fabric.NewEgress with
	// Options.Fabric).
	NewEgress func() (Egress, error)
	// ListenUDP opens one ingress socket (nil = udpio.Listen "udp").
	ListenUDP func(addr string, o udpio.Options) (udpio.BatchConn, error)
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	backend := o.DedupCap > 0 && o.Backend != nil && o.Backend.Backend != "" && o.Backend.Backend != cache.BackendNone
	if o.Readers == 0 {
		o.Readers = 1
		if backend {
			o.Readers = DefaultBackendReaders
		}
	}
	if o.Batch == 0 {
		o.Batch = udpio.DefaultBatch
		if backend {
			o.Batch = DefaultBackendBatch
		}
	}
	if o.MaxDatagram == 0 {
		o.MaxDatagram = DefaultMaxDatagram
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = frame.DefaultMaxPayload
	}
	setDur(&o.TCPReadTimeout, DefaultTCPReadTimeout)
	setDur(&o.TCPIdleTimeout, DefaultTCPIdleTimeout)
	if o.TCPMaxConns == 0 {
		o.TCPMaxConns = DefaultTCPMaxConns
	}
	if o.MaxFlows == 0 {
		o.MaxFlows = DefaultMaxFlows
	}
	setDur(&o.FlowIdle, DefaultFlowIdle)
	if o.DedupPrefix == "" {
		o.DedupPrefix = DefaultDedupPrefix
	}
	setDur(&o.DrainTimeout, DefaultDrainTimeout)
	setDur(&o.DrainQuiet, DefaultDrainQuiet)
	return o
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// Validate reports every invalid option, naming the binary's flag and env
// var, or nil. It checks o as given (zero means default).
func (o Options) Validate() error {
	var errs []error
	bad := func(flag string, val any, why string) {
		errs = append(errs, fmt.Errorf("proxy: -%s (env %s) = %v: %s", flag, envflag.EnvName("", flag), val, why))
	}
	if o.Workers < 0 || o.Workers > 1024 {
		bad("workers", o.Workers, "must be 0 (GOMAXPROCS) to 1024")
	}
	if o.StateFile != "" {
		if fi, err := os.Stat(filepath.Dir(o.StateFile)); err != nil || !fi.IsDir() {
			bad("state-file", o.StateFile, "its directory must exist")
		}
	}
	if o.Readers < 0 || o.Readers > 64 {
		bad("readers", o.Readers, "must be 0 (automatic) to 64")
	}
	if o.Batch < 0 || o.Batch > MaxBatch {
		bad("batch", o.Batch, fmt.Sprintf("must be 0 (default) to %d", MaxBatch))
	}
	if o.MaxDatagram != 0 && (o.MaxDatagram < frame.HeaderLenStd || o.MaxDatagram > DefaultMaxDatagram) {
		bad("max-datagram", o.MaxDatagram, fmt.Sprintf("must be %d to %d", frame.HeaderLenStd, DefaultMaxDatagram))
	}
	if o.MaxPayload < 0 || o.MaxPayload > 1<<30 {
		bad("max-payload", o.MaxPayload, "must be 0 (default) to 1 GiB")
	}
	if o.FragMTU != 0 && o.FragMTU < frame.MinMTU {
		bad("frag-mtu", o.FragMTU, fmt.Sprintf("must be 0 (off) or at least %d", frame.MinMTU))
	}
	if o.FragMTU >= frame.MinMTU && frame.FragmentCount(o.withDefaults().MaxPayload, fragSize(o.FragMTU)) > 0xFFFF {
		bad("max-payload", o.MaxPayload, "needs more than 65535 fragments at -frag-mtu; lower it or raise -frag-mtu")
	}
	for _, c := range []struct {
		flag string
		v    int
	}{{"rcvbuf", o.RecvBuffer}, {"tcp-max-conns", o.TCPMaxConns}, {"max-flows", o.MaxFlows}, {"dedup-local-cap", o.DedupCap}} {
		if c.v < 0 {
			bad(c.flag, c.v, "must not be negative")
		}
	}
	for _, c := range []struct {
		flag string
		v    time.Duration
	}{{"tcp-read-timeout", o.TCPReadTimeout}, {"tcp-idle-timeout", o.TCPIdleTimeout}, {"flow-idle", o.FlowIdle},
		{"dedup-ttl", o.DedupTTL}, {"drain-timeout", o.DrainTimeout}, {"drain-quiet", o.DrainQuiet}} {
		if c.v < 0 {
			bad(c.flag, c.v, "must not be negative")
		}
	}
	if o.FlowSource.IsValid() && (o.FlowSource.IsUnspecified() || o.FlowSource.IsMulticast()) {
		bad("flow-source", o.FlowSource, "must be a unicast address")
	}
	if err := o.Fabric.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Backend != nil {
		if err := o.Backend.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fragSize returns the fragment data size for mtu: frame.FragDataSize,
// capped so that a whole fragment fits one datagram; 0 when mtu is 0.
func fragSize(mtu int) int {
	if mtu == 0 {
		return 0
	}
	return min(frame.FragDataSize(mtu), maxDatagram-frame.HeaderLenFrag)
}
