package loadgen

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/sink"
	"github.com/mcdedup/mcdedup/frame"
)

// pipe runs a sink for sinkCfg and a generator for cfg (its destination
// set to the sink), and returns both results.
func pipe(t *testing.T, cfg Config, sinkCfg sink.Config) (Result, sink.Summary) {
	t.Helper()
	sinkCfg.Duration, sinkCfg.Idle = cfg.Duration+10*time.Second, 500*time.Millisecond
	s, err := sink.Open(sinkCfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan sink.Summary, 1)
	go func() {
		sum, _ := s.Run(context.Background(), nil)
		done <- sum
	}()
	if cfg.Proto != ProtoMulticast {
		cfg.To = s.Addr()
	}
	g, err := Open(cfg)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer g.Close()
	res, err := g.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case sum := <-done:
		return res, sum
	case <-time.After(sinkCfg.Duration + 5*time.Second):
		t.Fatal("sink did not stop")
	}
	return res, sink.Summary{}
}

func udpSink() sink.Config {
	c := sink.DefaultConfig()
	c.Listen = "127.0.0.1:0"
	return c
}

func testConfig() Config {
	c := DefaultConfig()
	c.Duration, c.Count, c.PayloadMin, c.PayloadMax = 5*time.Second, 2000, 16, 300
	return c
}

// TestCountBound sends exactly -count frames flat out, split over senders.
func TestCountBound(t *testing.T) {
	cfg := testConfig()
	cfg.Count, cfg.Senders = 1001, 3
	res, sum := pipe(t, cfg, udpSink())
	if res.Frames != 1001 || res.Sent != 1001 || res.UniqueTxIDs != 1001 || res.DuplicatesSent != 0 || res.Sockets != 3 {
		t.Errorf("result %+v", res)
	}
	if sum.Frames != 1001 || sum.UniqueTxIDs != 1001 || sum.Malformed != 0 || sum.NoTimestamp != 0 {
		t.Errorf("sink %+v", sum.Counts)
	}
	if res.Bytes != sum.Bytes {
		t.Errorf("bytes sent %d, received %d", res.Bytes, sum.Bytes)
	}
}

// TestDuplicateAccounting checks -dup-ratio and -dup-sources against what
// the sink counts.
func TestDuplicateAccounting(t *testing.T) {
	cfg := testConfig()
	cfg.Count, cfg.DupRatio, cfg.DupSources, cfg.Senders = 3000, 0.25, 2, 2
	res, sum := pipe(t, cfg, udpSink())
	if res.Frames != 3000 || res.Sent != 6000 || res.Sockets != 4 {
		t.Errorf("result %+v", res)
	}
	if dupFrames := res.Frames - res.UniqueTxIDs; dupFrames < 600 || dupFrames > 900 {
		t.Errorf("%d of 3000 frames repeated a TxID, want about 750", dupFrames)
	}
	if res.DuplicatesSent != res.Sent-res.UniqueTxIDs {
		t.Errorf("duplicates_sent %d != sent %d - unique %d", res.DuplicatesSent, res.Sent, res.UniqueTxIDs)
	}
	if sum.Frames != res.Sent || sum.UniqueTxIDs != res.UniqueTxIDs || sum.DuplicateTxIDs != res.DuplicatesSent {
		t.Errorf("sink saw %d frames, %d unique, %d dup; loadgen sent %d, %d unique, %d dup",
			sum.Frames, sum.UniqueTxIDs, sum.DuplicateTxIDs, res.Sent, res.UniqueTxIDs, res.DuplicatesSent)
	}
}

// TestSkipEveryHolesAtSink stamps flows with injected holes: the sink must
// count exactly the holes, and every dup-sources copy as a (HashKey,
// SeqNum) duplicate.
func TestSkipEveryHolesAtSink(t *testing.T) {
	cfg := testConfig()
	cfg.Count, cfg.Stamp, cfg.SkipEvery, cfg.Subtrees, cfg.Senders, cfg.DupSources = 4000, true, 50, 3, 2, 2
	cfg.Fabric.ShardBits = 2
	res, sum := pipe(t, cfg, udpSink())
	if res.SeqHoles < 70 || res.SeqHoles > 80 || res.Flows != 2*4*3 {
		t.Errorf("holes %d (want about 4000/50), flows %d (want 24)", res.SeqHoles, res.Flows)
	}
	if sum.Flows != res.Flows || sum.Gaps != res.SeqHoles || sum.GapMissing != res.SeqHoles || sum.Lost != res.SeqHoles {
		t.Errorf("sink %+v; loadgen holes %d flows %d", sum.SeqStats, res.SeqHoles, res.Flows)
	}
	if sum.SeqDuplicates != res.Frames || sum.Reorders != 0 || sum.Unstamped != 0 {
		t.Errorf("sink %+v, want %d sequence duplicates", sum.SeqStats, res.Frames)
	}
}

// TestTCP writes frames back to back over TCP, one connection per socket.
func TestTCP(t *testing.T) {
	cfg := testConfig()
	cfg.Proto, cfg.Count, cfg.Senders, cfg.DupSources = ProtoTCP, 5000, 2, 2
	sc := udpSink()
	sc.Proto = sink.ProtoTCP
	res, sum := pipe(t, cfg, sc)
	if res.Sent != 10000 || sum.Frames != 10000 || sum.UniqueTxIDs != 5000 || sum.Malformed != 0 || res.Bytes != sum.Bytes {
		t.Errorf("sent %d (%d B), sink %+v", res.Sent, res.Bytes, sum.Counts)
	}
}

// TestMulticastToTap injects frames straight onto IPv4 groups on lo.
func TestMulticastToTap(t *testing.T) {
	cfg := testConfig()
	cfg.Proto, cfg.Count = ProtoMulticast, 3000
	cfg.Fabric.Ifaces, cfg.Fabric.ShardBits, cfg.Fabric.IPv4Base = []string{"lo"}, 4, netip.MustParseAddr("239.196.0.0")
	cfg.Fabric.Port = freePort(t)
	sc := sink.DefaultConfig()
	sc.Proto, sc.Fabric = sink.ProtoMulticast, cfg.Fabric
	res, sum := pipe(t, cfg, sc)
	if res.Sent != 3000 || sum.UniqueTxIDs != 3000 || sum.Frames != 3000 {
		t.Errorf("sent %d, sink %+v", res.Sent, sum.Counts)
	}
}

// TestRatePacing checks the schedule: 4000 frames/s for 1 s. The sender
// never runs ahead of the schedule; the lower bound leaves room for a
// loaded machine starving it for a while.
func TestRatePacing(t *testing.T) {
	cfg := testConfig()
	cfg.Count, cfg.Rate, cfg.Duration, cfg.Senders = 0, 4000, time.Second, 2
	res, sum := pipe(t, cfg, udpSink())
	if res.Sent < 3400 || res.Sent > 4001 || sum.UniqueTxIDs != res.Sent {
		t.Errorf("sent %d in %.3fs (want about 4000), sink saw %d", res.Sent, res.DurationS, sum.UniqueTxIDs)
	}
	if res.DurationS < 0.8 || res.DurationS > 1.05 {
		t.Errorf("send duration %.3fs, want about 1s", res.DurationS)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	cfg := testConfig()
	cfg.Count, cfg.Rate, cfg.Duration = 0, 1000, time.Minute
	sk, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	cfg.To = sk.LocalAddr().String()
	g, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	var progress bytes.Buffer
	res, err := g.Run(ctx, &progress)
	if err != nil || time.Since(start) > 2*time.Second || res.Sent == 0 || res.Sent > 400 {
		t.Errorf("Run after cancel: %v, %v, %d sent", err, time.Since(start), res.Sent)
	}
}

// TestBuildAllocs pins the allocation-free frame building, with and
// without stamping (once the flows exist).
func TestBuildAllocs(t *testing.T) {
	for _, stamp := range []bool{false, true} {
		cfg := testConfig()
		cfg.Stamp, cfg.DupRatio, cfg.Subtrees, cfg.Fabric.ShardBits, cfg.SkipEvery = stamp, 0.3, 2, 1, 0
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s := newSender(0, &cfg, makeSubtrees(cfg.Subtrees, 1))
		s.build(cfg.Batch) // create the flows
		allocs := testing.AllocsPerRun(50, func() {
			s.build(cfg.Batch)
			s.stampTimes(cfg.Batch, 12345)
		})
		if allocs != 0 {
			t.Errorf("stamp=%v: %v allocations per batch", stamp, allocs)
		}
		for i := range cfg.Batch {
			f, err := frame.Parse(s.msgs[i].Buf)
			if err != nil || f.IsStamped() != stamp {
				t.Fatalf("frame %d: %v, stamped %v", i, err, f.IsStamped())
			}
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		mod  func(c *Config)
		want string
	}{
		{func(c *Config) { c.Proto = "smtp" }, "-proto"},
		{func(c *Config) { c.To = "" }, "-to"},
		{func(c *Config) { c.Rate = -1 }, "-rate"},
		{func(c *Config) { c.Duration = 0 }, "-duration"},
		{func(c *Config) { c.PayloadMin = 8 }, "-payload"},
		{func(c *Config) { c.PayloadMax = 70000 }, "-payload"},
		{func(c *Config) { c.Subtrees = MaxSubtrees + 1 }, "-subtrees"},
		{func(c *Config) { c.Senders = 0 }, "-senders"},
		{func(c *Config) { c.DupRatio = 1 }, "-dup-ratio"},
		{func(c *Config) { c.DupSources = 0 }, "-dup-sources"},
		{func(c *Config) { c.SkipEvery = 5 }, "-skip-every"},
		{func(c *Config) { c.Stamp, c.FlowSource = true, netip.Addr{} }, "-flow-source"},
		{func(c *Config) { c.Batch = 5000 }, "-batch"},
		{func(c *Config) { c.Fabric.ShardBits = 13 }, "-shard-bits"},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
	}
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestMainExitCodes(t *testing.T) {
	for _, args := range [][]string{{"-rate", "x"}, {"-payload", "10"}, {"-count", "-1"}, {"-flow-source", "nope"}, {"-proto", "x"}} {
		var stderr bytes.Buffer
		if code := Main(args, &bytes.Buffer{}, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), "loadgen: ") {
			t.Errorf("%v: exit %d, %q", args, code, stderr.String())
		}
	}
	if code := Main([]string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

func freePort(t *testing.T) uint16 {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}
