package ratio

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/cli"
	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/internal/fabric"
)

const summaryText = `
ratio compares two pipelines between a unicast ingress and the multicast
fabric (IPv4 groups on one interface, loopback by default). For -rounds
rounds it runs A then B: start the pipeline, wait until frames come through,
start a sink tap, drive loadgen at -rate for -duration, wait for the sink to
go idle, stop the pipeline. It prints each run's delivered fps (unique frames
at the sink / loadgen send time), the median of each pipeline and the median
ratio B/A with its spread. Pipelines are presets (-a relay -b relay) or raw
commands (-a-cmd '...') with the placeholders {bin} {ingress} {ingress_host}
{ingress_port} {shard_bits} {group_base} {port} {iface} {workers}.`

// Main runs the ratio command line and returns its exit code: 0 on
// success, 1 when a run fails, 2 on a bad flag or configuration.
func Main(args []string, stdout, stderr io.Writer) int {
	t := cli.New("ratio", summaryText, stderr)
	cfg := Config{Log: stderr}
	ef := t.EF
	env := func(flag string) string { return cli.Env("RATIO_", flag) }
	ef.StringVar(&cfg.A, "a", env("a"), "", "preset of pipeline A ("+presetNames()+")")
	ef.StringVar(&cfg.B, "b", env("b"), "", "preset of pipeline B (empty: measure A alone)")
	ef.StringVar(&cfg.ACmd, "a-cmd", env("a-cmd"), "", "raw command template of pipeline A, instead of -a")
	ef.StringVar(&cfg.BCmd, "b-cmd", env("b-cmd"), "", "raw command template of pipeline B, instead of -b")
	ef.IntVar(&cfg.Rounds, "rounds", env("rounds"), 5, "rounds (each runs A, then B)")
	ef.Float64Var(&cfg.Rate, "rate", env("rate"), 0, "loadgen frames per second (0 = as fast as possible)")
	ef.DurationVar(&cfg.Duration, "duration", env("duration"), 3*time.Second, "loadgen send time per run")
	payload := cli.Range{Min: 256, Max: 256}
	ef.Var(&payload, "payload", env("payload"), "payload size, N or MIN-MAX")
	ef.IntVar(&cfg.Senders, "senders", env("senders"), 1, "loadgen sockets")
	shardBits := ef.Int("shard-bits", env("shard-bits"), 4, "shard width of pipelines and sink (IPv4 taps: ≤ 4 within igmp_max_memberships=20)")
	base := ef.String("ipv4-group-base", env("ipv4-group-base"), "239.195.0.0", "IPv4 group base")
	ef.StringVar(&cfg.Iface, "iface", env("iface"), "lo", "multicast interface")
	ef.IntVar(&cfg.Workers, "workers", env("workers"), 1, "pipeline workers ({workers})")
	ef.DurationVar(&cfg.Idle, "idle", env("idle"), time.Second, "sink idle time that ends a run")
	ef.DurationVar(&cfg.Timeout, "timeout", env("timeout"), 15*time.Second, "bound of every other wait")
	ef.StringVar(&cfg.GoCmd, "go", env("go"), "", "go command used to build the binaries (default: go on PATH)")
	ef.StringVar(&cfg.BinDir, "bin-dir", env("bin-dir"), "", "directory with prebuilt loadgen, sink and preset binaries (skips the build)")
	lgArgs := ef.String("loadgen-args", env("loadgen-args"), "", "extra loadgen flags, space-separated")
	skArgs := ef.String("sink-args", env("sink-args"), "", "extra sink flags, space-separated")
	asJSON := ef.Bool("json", env("json"), false, "print the summary as JSON on stdout (the table goes to stderr)")
	ef.BoolVar(&cfg.Verbose, "v", env("verbose"), false, "show the children's stderr")
	if code, ok := t.Parse(args); !ok {
		return code
	}
	cfg.PayloadMin, cfg.PayloadMax = payload.Min, payload.Max
	cfg.LoadgenArgs, cfg.SinkArgs = strings.Fields(*lgArgs), strings.Fields(*skArgs)
	if err := cfg.setFabric(*shardBits, *base); err != nil {
		return t.Usage(err)
	}
	if err := cfg.validate(); err != nil {
		return t.Usage(err)
	}

	ctx, stop := cli.SignalContext()
	defer stop()
	sum, runErr := Run(ctx, cfg)
	table := stdout
	if *asJSON {
		table = stderr
	}
	if len(sum.Rows) > 0 {
		sum.WriteTable(table)
	}
	if *asJSON && runErr == nil {
		if err := cli.WriteJSON(stdout, sum); err != nil {
			return t.Fail(err)
		}
	}
	if runErr != nil {
		return t.Fail(runErr)
	}
	return cli.ExitOK
}

// setFabric checks the shard width and group base through the fabric's own
// validation.
func (c *Config) setFabric(bits int, base string) error {
	if bits < 1 || bits > 12 {
		return fmt.Errorf("-shard-bits: %d: must be 1–12", bits)
	}
	a, err := netip.ParseAddr(base)
	if err != nil || !a.Is4() {
		return fmt.Errorf("-ipv4-group-base %q: not an IPv4 address", base)
	}
	c.ShardBits, c.GroupBase = uint(bits), a
	o := fabric.Defaults()
	o.ShardBits, o.IPv4Base, o.Ifaces = c.ShardBits, a, []string{c.Iface}
	return o.Validate()
}

// validate checks everything but the fabric.
func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := resolvePipeline("A", c.A, c.ACmd); err != nil {
		errs = append(errs, err)
	} else if c.A == "" && strings.TrimSpace(c.ACmd) == "" {
		bad("-a or -a-cmd: pipeline A is needed")
	}
	if _, err := resolvePipeline("B", c.B, c.BCmd); err != nil {
		errs = append(errs, err)
	}
	if c.Rounds < 1 || c.Rounds > 100 {
		bad("-rounds: %d: must be 1–100", c.Rounds)
	}
	if c.Rate < 0 {
		bad("-rate: %v: must not be negative", c.Rate)
	}
	if c.Duration <= 0 || c.Idle <= 0 || c.Timeout <= 0 {
		bad("-duration, -idle and -timeout must be positive")
	}
	if c.PayloadMin < wire.MinPayload || c.PayloadMax > wire.MaxPayload {
		bad("-payload: %d-%d: sizes must be %d–%d bytes", c.PayloadMin, c.PayloadMax, wire.MinPayload, wire.MaxPayload)
	}
	if c.Senders < 1 || c.Senders > 256 {
		bad("-senders: %d: must be 1–256", c.Senders)
	}
	if c.Workers < 1 || c.Workers > 64 {
		bad("-workers: %d: must be 1–64", c.Workers)
	}
	return errors.Join(errs...)
}
