package loadgen

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/mcdedup/mcdedup/bench/internal/cli"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

const summary = `
loadgen sends BRC-124 frames to a unicast ingress (-proto udp or tcp, -to
host:port) or straight to the multicast shard groups (-proto multicast, with
the fabric flags), paced by -rate or flat out (-rate 0), for -duration and at
most -count frames. Payloads start with the send time and the frame index.
Duplicates: -dup-ratio repeats recent TxIDs, -dup-sources sends every frame
from several sockets. -stamp stamps HashKey/SeqNum itself (sender i as
-flow-source+i); -skip-every N then leaves a SeqNum hole every N frames.
Progress goes to stderr once a second; -json prints the totals on stdout.`

// Main runs the loadgen command line and returns its exit code: 0 on
// success, 1 on a run-time failure, 2 on a bad flag or configuration.
func Main(args []string, stdout, stderr io.Writer) int {
	t := cli.New("loadgen", summary, stderr)
	cfg := DefaultConfig()
	fab := fabric.RegisterFlags(t.EF, "LOADGEN_")
	ef := t.EF
	env := func(flag string) string { return cli.Env("LOADGEN_", flag) }
	ef.StringVar(&cfg.Proto, "proto", env("proto"), cfg.Proto, "destination: udp or tcp (unicast -to), multicast (the shard groups)")
	ef.StringVar(&cfg.To, "to", env("to"), cfg.To, "unicast destination host:port (udp, tcp)")
	ef.Float64Var(&cfg.Rate, "rate", env("rate"), cfg.Rate, "frames per second over all senders (0 = as fast as possible)")
	ef.DurationVar(&cfg.Duration, "duration", env("duration"), cfg.Duration, "how long to send (bounds every run)")
	count := ef.Int64("count", env("count"), 0, "stop after this many frames (0 = duration only)")
	payload := cli.Range{Min: cfg.PayloadMin, Max: cfg.PayloadMax}
	ef.Var(&payload, "payload", env("payload"), "payload size in bytes, N or MIN-MAX (uniform)")
	ef.IntVar(&cfg.Subtrees, "subtrees", env("subtrees"), cfg.Subtrees, "distinct SubtreeIDs (0 = unset, all zeros)")
	ef.IntVar(&cfg.Senders, "senders", env("senders"), cfg.Senders, "sending goroutines, each with its own socket(s) and source port")
	ef.Float64Var(&cfg.DupRatio, "dup-ratio", env("dup-ratio"), cfg.DupRatio, "fraction of frames repeating a recent TxID")
	ef.IntVar(&cfg.DupSources, "dup-sources", env("dup-sources"), cfg.DupSources, "sockets each frame is sent from (redundant submitters)")
	ef.BoolVar(&cfg.Stamp, "stamp", env("stamp"), cfg.Stamp, "stamp HashKey and SeqNum like a proxy")
	flowSrc := ef.String("flow-source", env("flow-source"), cfg.FlowSource.String(), "flow identity of sender 0 when stamping")
	skip := ef.Int64("skip-every", env("skip-every"), 0, "leave a SeqNum hole every N frames (needs -stamp; 0 = none)")
	seed := ef.Int64("seed", env("seed"), int64(cfg.Seed), "PRNG seed of TxIDs and sizes")
	ef.IntVar(&cfg.Batch, "batch", env("batch"), cfg.Batch, "frames per send call")
	asJSON := ef.Bool("json", env("json"), false, "print the totals as one JSON object on stdout")
	quiet := ef.Bool("quiet", env("quiet"), false, "no progress lines")
	if code, ok := t.Parse(args); !ok {
		return code
	}
	cfg.Fabric, cfg.PayloadMin, cfg.PayloadMax, cfg.Seed = *fab, payload.Min, payload.Max, uint64(*seed)
	if *count < 0 || *skip < 0 {
		return t.Usage(fmt.Errorf("-count and -skip-every must not be negative"))
	}
	cfg.Count, cfg.SkipEvery = uint64(*count), uint64(*skip)
	a, err := netip.ParseAddr(*flowSrc)
	if err != nil {
		return t.Usage(fmt.Errorf("-flow-source %q: not an IP address", *flowSrc))
	}
	cfg.FlowSource = a
	if err := cfg.Validate(); err != nil {
		return t.Usage(err)
	}

	// A spare P beside the hot loop(s), one per sender (udpio.SpareP).
	udpio.SpareP(cfg.Senders)
	ctx, stop := cli.SignalContext()
	defer stop()
	g, err := Open(cfg)
	if err != nil {
		return t.Fail(err)
	}
	defer g.Close()
	var progress io.Writer
	if !*quiet {
		progress = stderr
	}
	res, err := g.Run(ctx, progress)
	t.Logf("sent %d datagrams (%d frames, %d unique TxIDs, %d duplicates) in %.3fs: %.0f/s, %d errors",
		res.Sent, res.Frames, res.UniqueTxIDs, res.DuplicatesSent, res.DurationS, res.RateFPS, res.SendErrors)
	if *asJSON {
		if jerr := cli.WriteJSON(stdout, res); jerr != nil {
			return t.Fail(jerr)
		}
	}
	if err != nil {
		return t.Fail(err)
	}
	return cli.ExitOK
}
