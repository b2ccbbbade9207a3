// Command demo runs the mcdedup pipeline end to end on one machine and says
// what it delivered: submitters (bench loadgen, with the duplicates real
// fleets produce) → proxy (dedup claims on the embedded memory backend,
// HashKey/SeqNum stamping) → IPv4 loopback multicast → a fabric tap (bench
// sink) that checks every unique TxID arrived exactly once, gap-free.
//
// The listener and the retry endpoint (egress dedup, NACK recovery) are not
// built yet; the demo reports "recovered: n/a" until they are, and will run
// them between the fabric and the tap.
//
// Usage: go run ./bench/demo [-frames N] [-rate fps] [-dup-ratio p]
// [-dup-sources n]. It exits 0 when every unique TxID was delivered exactly
// once, 1 otherwise, 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcdedup/mcdedup/bench/internal/loadgen"
	"github.com/mcdedup/mcdedup/bench/internal/sink"
	"github.com/mcdedup/mcdedup/cache"
	_ "github.com/mcdedup/mcdedup/cache/memory" // the embedded backend
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/proxy"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type config struct {
	frames     uint64
	rate       float64
	dupRatio   float64
	dupSources int
	subtrees   int
	timeout    time.Duration
}

func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{}
	fs.Uint64Var(&c.frames, "frames", 50000, "frames the submitters generate (each sent -dup-sources times)")
	fs.Float64Var(&c.rate, "rate", 20000, "frames per second")
	fs.Float64Var(&c.dupRatio, "dup-ratio", 0.3, "fraction of frames that repeat a recent TxID")
	fs.IntVar(&c.dupSources, "dup-sources", 2, "redundant submitters sending every frame")
	fs.IntVar(&c.subtrees, "subtrees", 4, "distinct SubtreeIDs (flows per group)")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.frames == 0 || c.frames > 10_000_000:
		return c, errors.New("-frames must be 1–10000000")
	case c.rate <= 0:
		return c, errors.New("-rate must be positive")
	case c.dupRatio < 0 || c.dupRatio >= 1:
		return c, errors.New("-dup-ratio must be in [0, 1)")
	case c.dupSources < 1 || c.dupSources > loadgen.MaxDupSources:
		return c, fmt.Errorf("-dup-sources must be 1–%d", loadgen.MaxDupSources)
	case c.subtrees < 0 || c.subtrees > loadgen.MaxSubtrees:
		return c, fmt.Errorf("-subtrees must be 0–%d", loadgen.MaxSubtrees)
	case c.timeout <= 0:
		return c, errors.New("-timeout must be positive")
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	ok, err := demo(ctx, c, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// fabricOptions puts the demo's groups on IPv4 loopback multicast: 16 shard
// groups (well under the kernel's default 20 memberships per socket) on a
// free port.
func fabricOptions() (fabric.Options, error) {
	port, err := freeUDPPort()
	if err != nil {
		return fabric.Options{}, err
	}
	f := fabric.Defaults()
	f.Ifaces = []string{"lo"}
	f.IPv4Base = netip.MustParseAddr("239.193.0.0")
	f.ShardBits = 4
	f.Port = port
	f.Loop = true
	return f, nil
}

func freeUDPPort() (uint16, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
}

func demo(ctx context.Context, c config, out io.Writer) (bool, error) {
	fab, err := fabricOptions()
	if err != nil {
		return false, err
	}

	// The tap joins every group before anything is sent.
	sc := sink.DefaultConfig()
	sc.Proto = sink.ProtoMulticast
	sc.Fabric = fab
	sc.Duration = c.timeout
	sc.Idle = time.Second
	tap, err := sink.Open(sc)
	if err != nil {
		return false, fmt.Errorf("fabric tap: %w", err)
	}
	defer tap.Close()

	reg := prometheus.NewRegistry()
	px, err := proxy.New(proxy.Options{
		Listen:     "127.0.0.1:0",
		RecvBuffer: fab.RecvBuffer, // what cmd/proxy's -rcvbuf defaults to
		Fabric:     fab,
		FlowSource: netip.MustParseAddr("127.0.0.1"),
		DedupCap:   proxy.DefaultDedupCap,
		Backend:    &cache.Config{Backend: cache.BackendMemory, MemoryMaxKeys: 1 << 20},
	}, proxy.Deps{Registerer: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return false, fmt.Errorf("proxy: %w", err)
	}
	pctx, stopProxy := context.WithCancel(ctx)
	proxyDone := make(chan error, 1)
	go func() { proxyDone <- px.Run(pctx) }()
	defer func() { stopProxy(); <-proxyDone; px.Close() }()

	tapDone := make(chan sink.Summary, 1)
	tapErr := make(chan error, 1)
	go func() {
		s, err := tap.Run(ctx, nil)
		tapErr <- err
		tapDone <- s
	}()

	lc := loadgen.DefaultConfig()
	lc.Proto = loadgen.ProtoUDP
	lc.To = px.UDPAddr().String()
	lc.Fabric = fab
	lc.Rate = c.rate
	lc.Count = c.frames
	lc.Duration = c.timeout
	lc.DupRatio = c.dupRatio
	lc.DupSources = c.dupSources
	lc.Subtrees = c.subtrees
	fmt.Fprintf(out, "mcdedup demo: %d frames at %.0f fps, %.0f%% repeats, each sent by %d submitters\n",
		c.frames, c.rate, 100*c.dupRatio, c.dupSources)
	fmt.Fprintf(out, "  submitters → proxy %s (memory backend, flow source %s) → %d groups %s+idx:%d on lo → tap\n",
		px.UDPAddr(), px.FlowSource(), 1<<fab.ShardBits, fab.IPv4Base, fab.Port)
	gen, err := loadgen.Open(lc)
	if err != nil {
		return false, fmt.Errorf("loadgen: %w", err)
	}
	sent, err := gen.Run(ctx, nil)
	gen.Close()
	if err != nil {
		return false, fmt.Errorf("loadgen: %w", err)
	}

	var got sink.Summary
	select {
	case err := <-tapErr:
		if err != nil {
			return false, fmt.Errorf("tap: %w", err)
		}
		got = <-tapDone
	case <-ctx.Done():
		return false, fmt.Errorf("timed out waiting for the tap: %w", ctx.Err())
	}
	// The tap stopped after a second without frames, so the proxy is idle:
	// read its counters now (its metrics are unregistered when it stops).
	m := counters(reg)
	fmt.Fprintf(out, "\nsubmitted:    %d datagrams, %d unique TxIDs, %d duplicate copies\n",
		sent.Sent, sent.UniqueTxIDs, sent.DuplicatesSent)
	fmt.Fprintf(out, "proxy:        received %d, forwarded %d, deduplicated %d, dropped %d, fail-open %d\n",
		m["received_total"], m["forwarded_total"], m["deduplicated_total"], m["dropped_total"], m["fail_open_total"])
	fmt.Fprintf(out, "delivered:    %d frames, %d unique TxIDs, %d duplicate TxIDs, %d flows, %d SeqNums lost (%d reordered)\n",
		got.Frames, got.UniqueTxIDs, got.DuplicateTxIDs, got.Flows, got.Lost, got.Reorders)
	fmt.Fprintf(out, "latency:      p50 %.0f µs, p99 %.0f µs, max %.0f µs\n",
		got.Latency.P50, got.Latency.P99, got.Latency.Max)
	fmt.Fprintf(out, "recovered:    n/a (listener and retry endpoint not built yet)\n")

	ok := got.UniqueTxIDs == sent.UniqueTxIDs && got.DuplicateTxIDs == 0 && got.Frames == got.UniqueTxIDs && got.Lost == 0 && got.SeqDuplicates == 0
	if ok {
		fmt.Fprintln(out, "\nOK: every unique TxID delivered exactly once, no SeqNum gap")
	} else {
		fmt.Fprintln(out, "\nFAIL: delivery was not exactly once (see counts above)")
	}
	return ok, nil
}

// counters reads the proxy's counters (summing label values) by short name.
func counters(g prometheus.Gatherer) map[string]uint64 {
	out := map[string]uint64{}
	mfs, err := g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		name := mf.GetName()
		const prefix = proxy.Namespace + "_"
		if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			}
		}
		out[name[len(prefix):]] = uint64(sum)
	}
	return out
}
