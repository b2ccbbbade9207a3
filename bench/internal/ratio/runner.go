package ratio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/loadgen"
	"github.com/mcdedup/mcdedup/bench/internal/sink"
	"github.com/mcdedup/mcdedup/internal/fabric"
)

// Config describes a comparison.
type Config struct {
	// A and B name presets; ACmd and BCmd are raw command templates
	// instead (sh syntax, with the placeholders of Vars). B may be empty
	// to measure A alone.
	A, B, ACmd, BCmd string
	// Rounds is the number of A (then B) runs.
	Rounds int
	// Rate, Duration, Payload and Senders drive loadgen in every run.
	Rate       float64
	Duration   time.Duration
	PayloadMin int
	PayloadMax int
	Senders    int
	// ShardBits, GroupBase, Iface and Workers are the fabric of the
	// pipelines and the sink tap (IPv4 groups on one interface).
	ShardBits uint
	GroupBase netip.Addr
	Iface     string
	Workers   int
	// Idle is the sink's end-of-traffic idle time; Timeout bounds every
	// other wait (readiness, warm-up, exits).
	Idle, Timeout time.Duration
	// GoCmd builds the binaries into a temporary directory, unless BinDir
	// names a directory that already holds them.
	GoCmd, BinDir string
	// LoadgenArgs and SinkArgs are appended to their command lines.
	LoadgenArgs, SinkArgs []string
	// Log receives progress and, with Verbose, the children's stderr.
	Log     io.Writer
	Verbose bool
}

// Row is the measurement of one run.
type Row struct {
	Round    int    `json:"round"`
	Pipeline string `json:"pipeline"` // "A" or "B"
	Name     string `json:"name"`
	// Sent is the datagrams loadgen sent, Delivered the unique TxIDs the
	// sink saw, in SendS seconds of sending.
	Sent      uint64  `json:"sent"`
	Delivered uint64  `json:"delivered"`
	SendS     float64 `json:"send_duration_s"`
	// DeliveredFPS is Delivered / SendS: the headline number.
	DeliveredFPS float64 `json:"delivered_fps"`
	// SinkFPS is the frames the sink saw per second of its own receive span.
	SinkFPS float64 `json:"sink_fps"`
	// LossPct is the share of sent frames never delivered.
	LossPct float64 `json:"loss_pct"`
	// P50us and P99us are the sink's latency percentiles.
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	// CPUs is the CPU time (user + system, all threads) the pipeline used
	// from loadgen's start until the sink went idle, and CPUusPerFrame that
	// time per delivered frame: the cost of a frame however the pipeline
	// shared the machine with loadgen and the sink. Zero when it could not
	// be read (not Linux).
	CPUs          float64 `json:"pipeline_cpu_s"`
	CPUusPerFrame float64 `json:"cpu_us_per_frame"`
}

// runOnce measures one pipeline once.
func (r *runner) runOnce(ctx context.Context, p *pipeline, round int) (Row, error) {
	row := Row{Round: round, Pipeline: p.label, Name: p.name}
	ingressPort, err := freePort()
	if err != nil {
		return row, err
	}
	fabricPort, err := freePort()
	if err != nil {
		return row, err
	}
	ingress := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ingressPort)
	vars := r.vars(ingress, fabricPort)
	pipe, err := startChild(ctx, p.label+":"+p.name, p.argv(vars), p.pre.Ready, r.childLog())
	if err != nil {
		return row, err
	}
	defer pipe.stop(r.cfg.Timeout)
	if p.pre.Ready != "" {
		if err := pipe.waitReady(r.cfg.Timeout); err != nil {
			return row, err
		}
	}
	fab := r.fabric(fabricPort)
	if err := warmUp(ctx, ingress, fab, r.cfg.Timeout); err != nil {
		return row, fmt.Errorf("%s: %w%s", pipe.name, err, pipe.stderr.tail())
	}
	sk, err := startChild(ctx, "sink", r.sinkArgv(vars), "sink: ready", r.childLog())
	if err != nil {
		return row, err
	}
	defer sk.stop(r.cfg.Timeout)
	if err := sk.waitReady(r.cfg.Timeout); err != nil {
		return row, err
	}
	cpu0, cpuErr := groupCPU(pipe.cmd.Process.Pid)
	lg, err := startChild(ctx, "loadgen", r.loadgenArgv(vars, round), "", r.childLog())
	if err != nil {
		return row, err
	}
	if err := lg.wait(r.cfg.Duration + r.cfg.Timeout); err != nil {
		return row, err
	}
	if err := sk.wait(r.cfg.Idle + r.cfg.Timeout); err != nil {
		return row, err
	}
	if cpu1, err := groupCPU(pipe.cmd.Process.Pid); cpuErr == nil && err == nil {
		row.CPUs = (cpu1 - cpu0).Seconds()
	}
	var lr loadgen.Result
	var sr sink.Summary
	if err := json.Unmarshal(lg.stdout.Bytes(), &lr); err != nil {
		return row, fmt.Errorf("loadgen JSON: %w", err)
	}
	if err := json.Unmarshal(sk.stdout.Bytes(), &sr); err != nil {
		return row, fmt.Errorf("sink JSON: %w", err)
	}
	row.Sent, row.Delivered, row.SendS = lr.Sent, sr.UniqueTxIDs, lr.DurationS
	if lr.DurationS > 0 {
		row.DeliveredFPS = float64(sr.UniqueTxIDs) / lr.DurationS
	}
	row.SinkFPS, row.P50us, row.P99us = sr.FPS, sr.Latency.P50, sr.Latency.P99
	if row.Delivered > 0 {
		row.CPUusPerFrame = 1e6 * row.CPUs / float64(row.Delivered)
	}
	if lr.Sent > 0 {
		row.LossPct = 100 * (1 - float64(min(sr.UniqueTxIDs, lr.Sent))/float64(lr.Sent))
	}
	return row, nil
}

// runner holds what every run shares.
type runner struct {
	cfg *Config
	bin string
}

func (r *runner) childLog() io.Writer {
	if r.cfg.Verbose {
		return r.cfg.Log
	}
	return nil
}

func (r *runner) vars(ingress netip.AddrPort, fabricPort uint16) Vars {
	return Vars{
		"bin": r.bin, "ingress": ingress.String(), "ingress_host": ingress.Addr().String(),
		"ingress_port": strconv.Itoa(int(ingress.Port())), "shard_bits": strconv.Itoa(int(r.cfg.ShardBits)),
		"group_base": r.cfg.GroupBase.String(), "port": strconv.Itoa(int(fabricPort)), "iface": r.cfg.Iface,
		"workers": strconv.Itoa(r.cfg.Workers),
	}
}

// fabric returns the options of the sink tap (and warm-up tap).
func (r *runner) fabric(port uint16) fabric.Options {
	o := fabric.Defaults()
	o.Ifaces, o.ShardBits, o.IPv4Base, o.Port = []string{r.cfg.Iface}, r.cfg.ShardBits, r.cfg.GroupBase, port
	return o
}

func (r *runner) sinkArgv(v Vars) []string {
	argv := []string{
		r.bin + "/sink", "-proto", "multicast", "-iface", v["iface"], "-ipv4-group-base", v["group_base"],
		"-shard-bits", v["shard_bits"], "-egress-port", v["port"], "-idle", r.cfg.Idle.String(),
		"-duration", (r.cfg.Duration + r.cfg.Idle + r.cfg.Timeout).String(), "-json", "-quiet",
	}
	return append(argv, r.cfg.SinkArgs...)
}

func (r *runner) loadgenArgv(v Vars, round int) []string {
	argv := []string{
		r.bin + "/loadgen", "-to", v["ingress"], "-rate", strconv.FormatFloat(r.cfg.Rate, 'f', -1, 64),
		"-duration", r.cfg.Duration.String(), "-payload", fmt.Sprintf("%d-%d", r.cfg.PayloadMin, r.cfg.PayloadMax),
		"-senders", strconv.Itoa(r.cfg.Senders), "-seed", strconv.Itoa(round), "-json", "-quiet",
	}
	return append(argv, r.cfg.LoadgenArgs...)
}

// Run builds the binaries (unless BinDir is set) and runs A and B
// alternately for the configured rounds, stopping at the first failed run.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	a, err := resolvePipeline("A", cfg.A, cfg.ACmd)
	if err != nil {
		return Summary{}, err
	}
	b, err := resolvePipeline("B", cfg.B, cfg.BCmd)
	if err != nil {
		return Summary{}, err
	}
	if a == nil {
		return Summary{}, errors.New("-a or -a-cmd: pipeline A is needed")
	}
	r := &runner{cfg: &cfg, bin: cfg.BinDir}
	if r.bin == "" {
		goCmd, err := goCommand(cfg.GoCmd)
		if err != nil {
			return Summary{}, err
		}
		if r.bin, err = os.MkdirTemp("", "mcdedup-ratio-"); err != nil {
			return Summary{}, err
		}
		defer os.RemoveAll(r.bin)
		fmt.Fprintf(cfg.Log, "ratio: building binaries into %s\n", r.bin)
		if err := buildAll(ctx, goCmd, r.bin, []*pipeline{a, b}); err != nil {
			return Summary{}, err
		}
	}
	pipes := []*pipeline{a}
	if b != nil {
		pipes = append(pipes, b)
	}
	var rows []Row
	for round := 1; round <= cfg.Rounds; round++ {
		for _, p := range pipes {
			row, err := r.runOnce(ctx, p, round)
			if err != nil {
				return summarize(&cfg, a, b, rows), fmt.Errorf("round %d, pipeline %s (%s): %w", round, p.label, p.name, err)
			}
			fmt.Fprintf(cfg.Log, "ratio: round %d %s (%s): delivered %.0f fps (%d of %d, loss %.3f%%), p99 %.0fµs\n",
				round, p.label, p.name, row.DeliveredFPS, row.Delivered, row.Sent, row.LossPct, row.P99us)
			rows = append(rows, row)
		}
	}
	return summarize(&cfg, a, b, rows), nil
}

// freePort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freePort() (uint16, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
}

// label of a pipeline for tables.
func describe(p *pipeline) string {
	if p == nil {
		return "-"
	}
	if f := strings.Fields(p.raw); len(f) > 0 {
		return "cmd:" + f[0]
	}
	return p.name
}
