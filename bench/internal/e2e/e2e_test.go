package e2e

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/loadgen"
	"github.com/mcdedup/mcdedup/bench/internal/ratio"
	"github.com/mcdedup/mcdedup/bench/internal/sink"
)

// fabricArgs are the fabric flags shared by relay and sink: 16 IPv4 groups
// on lo (within the default igmp_max_memberships of 20) on a free port, and
// 32 MiB receive buffers (forced as root), so that a busy test machine
// starving a process for a second does not overflow its socket.
func fabricArgs(t *testing.T) []string {
	return []string{"-iface", "lo", "-ipv4-group-base", "239.198.0.0", "-shard-bits", "4", "-egress-port", freePort(t),
		"-rcvbuf", "33554432"}
}

// TestAcceptanceRelayDelivers runs loadgen -rate 20000 -duration 3s →
// relay → sink tap as separate processes over IPv4 loopback multicast and
// requires ≥ 99.9 % of the frames sent to reach the sink (counts from the
// JSON outputs, not timing).
func TestAcceptanceRelayDelivers(t *testing.T) {
	fab := fabricArgs(t)
	relay := start(t, "relay", append([]string{"-listen", "127.0.0.1:0"}, fab...)...)
	ingress := field(relay.waitLine(t, "relay: ready", 10*time.Second), "listen")
	sk := start(t, "sink", append([]string{"-proto", "multicast", "-idle", "1s", "-duration", "60s", "-json", "-quiet"}, fab...)...)
	sk.waitLine(t, "sink: ready", 10*time.Second)

	code, out, errOut := run(t, "loadgen", "-to", ingress, "-rate", "20000", "-duration", "3s", "-json", "-quiet")
	if code != 0 {
		t.Fatalf("loadgen exit %d: %s", code, errOut)
	}
	var lr loadgen.Result
	if err := json.Unmarshal([]byte(out), &lr); err != nil {
		t.Fatalf("loadgen JSON %q: %v", out, err)
	}
	if code := sk.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("sink exit %d", code)
	}
	var sr sink.Summary
	if err := json.Unmarshal(sk.stdout.Bytes(), &sr); err != nil {
		t.Fatalf("sink JSON %q: %v", sk.stdout.String(), err)
	}
	t.Logf("loadgen sent %d in %.3fs; sink: %d unique, %d duplicate, latency p50 %.0fµs p99 %.0fµs, kernel drops %d",
		lr.Sent, lr.DurationS, sr.UniqueTxIDs, sr.DuplicateTxIDs, sr.Latency.P50, sr.Latency.P99, sr.KernelDrops)
	if lr.Sent < 55000 || lr.UniqueTxIDs != lr.Sent {
		t.Errorf("loadgen sent %d (%d unique), want about 60000", lr.Sent, lr.UniqueTxIDs)
	}
	if delivered := float64(sr.UniqueTxIDs) / float64(lr.Sent); delivered < 0.999 || sr.UniqueTxIDs > lr.Sent {
		t.Errorf("sink saw %d unique of %d sent (%.4f), want ≥ 0.999", sr.UniqueTxIDs, lr.Sent, delivered)
	}
	relay.cmd.Process.Signal(syscall.SIGTERM)
	if code := relay.wait(t, 10*time.Second); code != 0 {
		t.Errorf("relay exit %d after SIGTERM, want 0", code)
	}
}

// TestBadFlagsExitTwo checks that every tool rejects bad flags, env values
// and configurations with exit code 2 and a message naming the problem.
func TestBadFlagsExitTwo(t *testing.T) {
	cases := []struct {
		tool string
		args []string
		want string
	}{
		{"loadgen", []string{"-rate", "fast"}, "-rate"},
		{"loadgen", []string{"-duration", "0s"}, "-duration"},
		{"loadgen", []string{"-dup-ratio", "1.5"}, "-dup-ratio"},
		{"loadgen", []string{"-skip-every", "10"}, "needs -stamp"},
		{"loadgen", []string{"-payload", "5-1"}, "minimum above maximum"},
		{"loadgen", []string{"-nonsense"}, "flag provided but not defined"},
		{"sink", []string{"-proto", "pigeon"}, "-proto"},
		{"sink", []string{"-idle", "-1s"}, "-idle"},
		{"sink", []string{"-ipv4-group-base", "10.0.0.0"}, "-ipv4-group-base"},
		{"relay", []string{"-workers", "0"}, "-workers"},
		{"relay", []string{"-source-mode", "both"}, "source-mode"},
		{"relay", []string{"-egress-port", "0"}, "egress-port"},
		{"ratio", []string{"-a", "nope"}, "unknown preset"},
		{"ratio", []string{"-a", "relay", "-rounds", "0"}, "-rounds"},
		{"ratio", []string{"-b", "relay"}, "pipeline A is needed"},
		{"ratio", []string{"-a", "relay", "-a-cmd", "x"}, "not both"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, c.tool, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || !strings.HasPrefix(stderr, c.tool+": ") {
			t.Errorf("%s %v: exit %d, stderr %q; want 2 and %q", c.tool, c.args, code, stderr, c.want)
		}
	}
	// A bad env value is an error too, naming the variable and the flag.
	for tool, env := range map[string]string{"relay": "RELAY_SHARD_BITS=99", "sink": "SINK_IDLE=soon", "loadgen": "LOADGEN_RATE=x"} {
		code, _, stderr := runEnv(t, []string{env}, tool)
		name, _, _ := strings.Cut(env, "=")
		if code != 2 || !strings.Contains(stderr, name) {
			t.Errorf("%s with %s: exit %d, stderr %q", tool, env, code, stderr)
		}
	}
}

// TestRatioRelayVsRelay runs the ratio binary with the relay as both A and
// B for two short rounds: every run must deliver nearly everything and the
// ratio must be about 1. The bound on the ratio is loose on purpose: on a
// shared two-core machine one run can lose the CPU for a while, which is
// exactly the drift that the five-round median of a real comparison cancels.
func TestRatioRelayVsRelay(t *testing.T) {
	code, out, stderr := run(t, "ratio", "-a", "relay", "-b", "relay", "-rounds", "2", "-duration", "1s", "-rate", "5000",
		"-idle", "500ms", "-ipv4-group-base", "239.199.0.0", "-bin-dir", bin, "-json")
	if code != 0 {
		t.Fatalf("ratio exit %d: %s", code, stderr)
	}
	t.Log(stderr)
	var s ratio.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("ratio JSON %q: %v", out, err)
	}
	if len(s.Rows) != 4 || len(s.Ratios) != 2 {
		t.Fatalf("%d rows, %d ratios; want 4 and 2", len(s.Rows), len(s.Ratios))
	}
	for _, r := range s.Rows {
		if r.LossPct > 1 || r.Sent == 0 {
			t.Errorf("round %d %s: sent %d, loss %.2f%%", r.Round, r.Pipeline, r.Sent, r.LossPct)
		}
	}
	if s.RatioMedian < 0.5 || s.RatioMedian > 2 || s.RatioMin <= 0 || s.RatioMax < s.RatioMin {
		t.Errorf("ratio median %.3f (min %.3f, max %.3f), want about 1", s.RatioMedian, s.RatioMin, s.RatioMax)
	}
}
