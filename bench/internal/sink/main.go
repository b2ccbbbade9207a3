package sink

import (
	"fmt"
	"io"
	"strings"

	"github.com/mcdedup/mcdedup/bench/internal/cli"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

const summary = `
sink receives BRC-124 frames on unicast UDP or TCP (-proto udp|tcp, -listen)
or as a multicast tap joined to every shard group (-proto multicast, with the
fabric flags), and counts frames, unique and duplicate TxIDs, per-flow SeqNum
gaps, reorders and duplicates, and latency from the send time loadgen embeds.
It stops after -duration, after -idle without traffic, or at -expect unique
TxIDs. It prints "sink: ready ..." on stderr once bound, progress once a
second, the summary at the end (-json: one JSON object on stdout), and with
-plot FILE.png the latency over time and its histogram.`

// Main runs the sink command line and returns its exit code: 0 on success,
// 1 on a run-time failure, 2 on a bad flag or configuration.
func Main(args []string, stdout, stderr io.Writer) int {
	t := cli.New("sink", summary, stderr)
	cfg := DefaultConfig()
	fab := fabric.RegisterFlags(t.EF, "SINK_")
	ef := t.EF
	env := func(flag string) string { return cli.Env("SINK_", flag) }
	ef.StringVar(&cfg.Proto, "proto", env("proto"), cfg.Proto, "source: udp or tcp (-listen), multicast (tap on the shard groups)")
	ef.StringVar(&cfg.Listen, "listen", env("listen"), cfg.Listen, "unicast address to bind (udp, tcp)")
	ef.DurationVar(&cfg.Duration, "duration", env("duration"), cfg.Duration, "longest run (bounds every run)")
	ef.DurationVar(&cfg.Idle, "idle", env("idle"), cfg.Idle, "stop after no traffic for this long, once traffic started (0 = off)")
	expect := ef.Int64("expect", env("expect"), 0, "stop after this many unique TxIDs (0 = off)")
	ef.IntVar(&cfg.MaxTxIDs, "max-txids", env("max-txids"), cfg.MaxTxIDs, "cap of the unique-TxID set (8-byte fingerprints); beyond it new TxIDs count as untracked")
	ef.IntVar(&cfg.MaxFlows, "max-flows", env("max-flows"), cfg.MaxFlows, "cap of the per-flow SeqNum table")
	ef.IntVar(&cfg.Batch, "batch", env("batch"), cfg.Batch, "datagrams per receive call")
	plotFile := ef.String("plot", env("plot"), "", "write a latency plot (PNG) to this file")
	asJSON := ef.Bool("json", env("json"), false, "print the summary as one JSON object on stdout")
	quiet := ef.Bool("quiet", env("quiet"), false, "no progress lines")
	if code, ok := t.Parse(args); !ok {
		return code
	}
	if *expect < 0 {
		return t.Usage(fmt.Errorf("-expect must not be negative"))
	}
	cfg.Fabric, cfg.Expect = *fab, uint64(*expect)
	if *plotFile != "" && !strings.HasSuffix(strings.ToLower(*plotFile), ".png") {
		return t.Usage(fmt.Errorf("-plot %q: the plot is a PNG file, name it .png", *plotFile))
	}
	if err := cfg.Validate(); err != nil {
		return t.Usage(err)
	}

	// A spare P beside the hot loop(s), its one receive loop (udpio.SpareP).
	udpio.SpareP(1)
	ctx, stop := cli.SignalContext()
	defer stop()
	s, err := Open(cfg)
	if err != nil {
		return t.Fail(err)
	}
	t.Logf("ready proto=%s addr=%s%s", cfg.Proto, s.Addr(), tapInfo(&cfg))
	var progress io.Writer
	if !*quiet {
		progress = stderr
	}
	sum, err := s.Run(ctx, progress)
	if err != nil {
		return t.Fail(err)
	}
	t.Logf("%d frames, %d unique TxIDs, %d duplicate, %d gaps (%d missing, %d lost), %d reorders in %.3fs; latency p50 %.0fµs p99 %.0fµs max %.0fµs (%s)",
		sum.Frames, sum.UniqueTxIDs, sum.DuplicateTxIDs, sum.Gaps, sum.GapMissing, sum.Lost, sum.Reorders,
		sum.DurationS, sum.Latency.P50, sum.Latency.P99, sum.Latency.Max, sum.StopReason)
	if *asJSON {
		if err := cli.WriteJSON(stdout, sum); err != nil {
			return t.Fail(err)
		}
	}
	if *plotFile != "" {
		title := fmt.Sprintf("sink %s: %d frames, %d unique in %.1fs (%.0f/s)", cfg.Proto, sum.Frames, sum.UniqueTxIDs, sum.DurationS, sum.FPS)
		if err := WritePlot(*plotFile, title, s.Counter()); err != nil {
			return t.Fail(err)
		}
		t.Logf("plot written to %s", *plotFile)
	}
	return cli.ExitOK
}

// tapInfo describes the groups a multicast sink joined.
func tapInfo(c *Config) string {
	if c.Proto != ProtoMulticast {
		return ""
	}
	tab, _ := c.Fabric.Table()
	return fmt.Sprintf(" groups=%d (%v…%v) ifaces=%s", c.Fabric.Groups(), tab.IP(0), tab.IP(uint16(c.Fabric.Groups()-1)),
		strings.Join(c.Fabric.Ifaces, ","))
}
