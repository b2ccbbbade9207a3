package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/loadgen"
	"github.com/mcdedup/mcdedup/bench/internal/sink"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/netns"
)

// TestIPv6AcrossNamespaces is the IPv6 variant (IPv6 multicast does not work
// on lo): loadgen in namespace A multicasts stamped frames to the site-scope
// groups ff05::b:0–7 out of a veth, and a sink tap in namespace B joined on
// the other end counts them. Sockets are opened inside each namespace and
// used from ordinary goroutines. Needs root and ip (skips otherwise, fails
// under REQUIRE_SYSTEM_TESTS=1).
func TestIPv6AcrossNamespaces(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	v := netns.Connect(t, a, b)
	fab := fabric.Defaults()
	fab.ShardBits, fab.RecvBuffer = 3, 4<<20

	sc := sink.DefaultConfig()
	sc.Proto, sc.Fabric, sc.Expect, sc.Duration = sink.ProtoMulticast, fab, 5000, 30*time.Second
	sc.Fabric.Ifaces = []string{v.IfB}
	var s *sink.Sink
	if err := b.Run(func() (err error) { s, err = sink.Open(sc); return err }); err != nil {
		t.Fatal(err)
	}
	done := make(chan sink.Summary, 1)
	go func() { sum, _ := s.Run(context.Background(), nil); done <- sum }()

	lc := loadgen.DefaultConfig()
	lc.Proto, lc.Fabric, lc.Rate, lc.Count, lc.Duration = loadgen.ProtoMulticast, fab, 5000, 5000, 10*time.Second
	lc.Fabric.Ifaces, lc.Stamp, lc.FlowSource = []string{v.IfA}, true, v.AddrA
	var g *loadgen.Gen
	if err := a.Run(func() (err error) { g, err = loadgen.Open(lc); return err }); err != nil {
		s.Close()
		t.Fatal(err)
	}
	defer g.Close()
	res, err := g.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum sink.Summary
	select {
	case sum = <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("sink did not stop")
	}
	t.Logf("sent %d; sink %d unique, %d flows, p50 %.0fµs p99 %.0fµs", res.Sent, sum.UniqueTxIDs, sum.Flows, sum.Latency.P50, sum.Latency.P99)
	if res.Sent != 5000 || sum.UniqueTxIDs != 5000 || sum.Flows != 8 || sum.Gaps != 0 || sum.StopReason != "expect" {
		t.Errorf("sent %d; sink %+v %+v (%s)", res.Sent, sum.Counts, sum.SeqStats, sum.StopReason)
	}
}
