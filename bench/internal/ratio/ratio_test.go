package ratio

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPresetExpansion(t *testing.T) {
	v := Vars{"bin": "/b", "ingress": "127.0.0.1:5", "shard_bits": "4", "group_base": "239.1.0.0", "port": "77", "iface": "lo", "workers": "2"}
	p, err := resolvePipeline("A", "relay", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/b/relay", "-listen", "127.0.0.1:5", "-shard-bits", "4", "-ipv4-group-base", "239.1.0.0",
		"-egress-port", "77", "-iface", "lo", "-workers", "2"}
	if got := p.argv(v); !slices.Equal(got, want) {
		t.Errorf("argv %q\nwant %q", got, want)
	}
	raw, err := resolvePipeline("B", "", "  {bin}/x --in={ingress} ")
	if err != nil {
		t.Fatal(err)
	}
	if got := raw.argv(v); !slices.Equal(got, []string{"/bin/sh", "-c", "exec /b/x --in=127.0.0.1:5"}) {
		t.Errorf("raw argv %q", got)
	}
	if describe(raw) != "cmd:{bin}/x" || describe(p) != "relay" || describe(nil) != "-" {
		t.Errorf("describe: %q %q", describe(raw), describe(p))
	}
	for _, c := range []struct{ name, raw, want string }{
		{"nope", "", "unknown preset"},
		{"relay", "x", "not both"},
	} {
		if _, err := resolvePipeline("A", c.name, c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q/%q: %v", c.name, c.raw, err)
		}
	}
	if p, err := resolvePipeline("B", "", " "); p != nil || err != nil {
		t.Errorf("empty B: %v, %v", p, err)
	}
}

func TestSummarize(t *testing.T) {
	cfg := &Config{Rounds: 3, Rate: 0, Duration: time.Second}
	a, _ := resolvePipeline("A", "relay", "")
	b, _ := resolvePipeline("B", "relay", "")
	rows := []Row{
		{Round: 1, Pipeline: "A", DeliveredFPS: 100, CPUusPerFrame: 2}, {Round: 1, Pipeline: "B", DeliveredFPS: 110, CPUusPerFrame: 2.5},
		{Round: 2, Pipeline: "A", DeliveredFPS: 200, CPUusPerFrame: 3}, {Round: 2, Pipeline: "B", DeliveredFPS: 180, CPUusPerFrame: 2},
		{Round: 3, Pipeline: "A", DeliveredFPS: 150, CPUusPerFrame: 2}, {Round: 3, Pipeline: "B", DeliveredFPS: 150}, // CPU unread
	}
	s := summarize(cfg, a, b, rows)
	if s.MedianA != 150 || s.MedianB != 150 || len(s.Ratios) != 3 || s.RatioMedian != 1 || s.RatioMin != 0.9 || s.RatioMax != 1.1 {
		t.Errorf("summary %+v", s)
	}
	// CPU ratios A/B per frame: 2/2.5 = 0.8 and 3/2 = 1.5; round 3 has none.
	if s.CPUMedianA != 2 || s.CPUMedianB != 2.25 || len(s.CPURatios) != 2 || s.CPURatioMin != 0.8 ||
		s.CPURatioMax != 1.5 || s.CPURatioMedian != 1.15 {
		t.Errorf("CPU summary %+v", s)
	}
	var table bytes.Buffer
	s.WriteTable(&table)
	for _, want := range []string{
		"ratio B/A: median 1.000, min 0.900, max 1.100 over 3 rounds",
		"frames per CPU-second B/A: median 1.150, min 0.800, max 1.500 over 2 rounds",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if median(nil) != 0 || median([]float64{3, 1}) != 2 || median([]float64{5, 1, 3}) != 3 {
		t.Error("median")
	}
	alone := summarize(cfg, a, nil, rows[:1])
	if alone.B != "" || alone.RatioMedian != 0 || alone.MedianA != 100 {
		t.Errorf("A alone: %+v", alone)
	}
}

func TestParseStat(t *testing.T) {
	line := []byte("4242 (we) ird (name)) S 1 4240 4240 0 -1 4194560 100 0 0 0 25 7 0 0 20 0 3 0 99 1 1\n")
	if g, ticks, ok := parseStat(line); !ok || g != 4240 || ticks != 32 {
		t.Errorf("parseStat = %d, %d, %v; want 4240, 32, true", g, ticks, ok)
	}
	for _, bad := range []string{"", "1 (x) S 1", "1 (x) S 1 x 3 0 -1 0 0 0 0 0 1 1"} {
		if _, _, ok := parseStat([]byte(bad)); ok {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
}

// groupCPU counts the CPU of every process of a child's group: here a
// shell whose busy loop runs in a subshell, so the work is not in the
// group leader.
func TestGroupCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c, err := startChild(context.Background(), "busy",
		[]string{"/bin/sh", "-c", "(i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done) & sleep 30"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop(time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for {
		cpu, err := groupCPU(c.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if cpu >= 200*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group CPU %v after 20 s of a busy loop", cpu)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := groupCPU(1 << 30); err == nil {
		t.Error("groupCPU of a group with no process: no error")
	}
}

func TestLineWriter(t *testing.T) {
	var log bytes.Buffer
	w := lineWriter{prefix: "x| ", log: &log, ready: "ready", readyCh: make(chan struct{})}
	w.Write([]byte("one\ntw"))
	select {
	case <-w.readyCh:
		t.Fatal("ready too early")
	default:
	}
	w.Write([]byte("o\nrelay: ready listen=1\n"))
	select {
	case <-w.readyCh:
	default:
		t.Fatal("ready line missed")
	}
	w.Write([]byte("ready again\n")) // must not close twice
	if log.String() != "x| one\nx| two\nx| relay: ready listen=1\nx| ready again\n" {
		t.Errorf("log %q", log.String())
	}
	if !strings.Contains(w.tail(), "two") {
		t.Errorf("tail %q", w.tail())
	}
}

func TestChildLifecycle(t *testing.T) {
	ctx := context.Background()
	c, err := startChild(ctx, "sh", []string{"/bin/sh", "-c", "echo hello >&2; echo out; sleep 30"}, "hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.waitReady(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.wait(100 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("wait on a sleeper: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("kill took too long")
	}
	c, err = startChild(ctx, "sh", []string{"/bin/sh", "-c", "echo bye >&2; exit 3"}, "never", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.waitReady(5 * time.Second); err == nil || !strings.Contains(err.Error(), "bye") {
		t.Errorf("waitReady on an early exit: %v", err)
	}
	c, err = startChild(ctx, "sh", []string{"/bin/sh", "-c", "trap 'exit 0' TERM; sleep 30 & wait"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	c.stop(5 * time.Second)
	if time.Since(start) > 4*time.Second {
		t.Error("stop waited for the grace period: SIGTERM did not reach the group")
	}
	cctx, cancel := context.WithCancel(ctx)
	c, err = startChild(cctx, "sh", []string{"/bin/sleep", "30"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if !c.exited(5 * time.Second) {
		t.Error("cancelling the context did not kill the child")
	}
}

func TestMainRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "pipeline A is needed"},
		{[]string{"-a", "relay", "-shard-bits", "13"}, "-shard-bits"},
		{[]string{"-a", "relay", "-ipv4-group-base", "ff05::"}, "not an IPv4 address"},
		{[]string{"-a", "relay", "-ipv4-group-base", "10.0.0.0"}, "ipv4-group-base"},
		{[]string{"-a", "relay", "-idle", "0s"}, "must be positive"},
		{[]string{"-a", "relay", "-payload", "8"}, "-payload"},
		{[]string{"-a", "relay", "-senders", "0"}, "-senders"},
		{[]string{"-a", "relay", "-b", "x"}, "unknown preset"},
	} {
		var stderr bytes.Buffer
		if code := Main(c.args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, stderr.String())
		}
	}
}
