package proxy

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/netns"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// TestEndToEndIPv6AcrossNamespaces runs the proxy in namespace A with its
// egress on a veth to namespace B, where a tap joins the site-scope IPv6
// groups (ff05::b:idx): frames must arrive stamped with the default flow
// identity (A's veth address) on the groups their TxIDs select.
func TestEndToEndIPv6AcrossNamespaces(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	veth := netns.Connect(t, a, b)
	fab := fabric.Defaults()
	fab.ShardBits = e2eBits
	fab.Ifaces = []string{veth.IfA}
	var tp *tap
	if err := b.Run(func() error {
		tapFab := fab
		tapFab.Ifaces = []string{veth.IfB}
		var err error
		tp, err = newTap(tapFab)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tp.close)

	o := e2eOptions(t, fab)
	o.Listen = "[::1]:0"
	o.FlowSource = netip.Addr{} // the default: A's veth address
	var p *Proxy
	var s *udpio.Conn
	if err := a.Run(func() error {
		var err error
		if p, err = New(o, Deps{}); err != nil {
			return err
		}
		s, err = udpio.Listen("udp6", "[::1]:0", udpio.Options{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(); s.Close() })
	if p.FlowSource() != veth.AddrA {
		t.Fatalf("default flow source %v, want A's veth address %v", p.FlowSource(), veth.AddrA)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	t.Cleanup(func() { p.Close(); <-done })

	const n = 5000
	lp := &liveProxy{Proxy: p}
	deadline := time.Now().Add(30 * time.Second)
	for k := 0; k < n; k += 32 {
		msgs := make([]udpio.Message, 0, 32)
		for _, i := range seq(k, min(k+32, n)) {
			msgs = append(msgs, udpio.Message{Buf: e2eFrame(i), Addr: p.UDPAddr()})
		}
		if _, err := s.WriteBatch(msgs); err != nil {
			t.Fatal(err)
		}
		pace(t, []*liveProxy{lp}, k+len(msgs), 1024, deadline)
	}
	got := tp.wait(t, n, 20*time.Second)
	if seen := checkStamped(t, got, flowKeys(veth.AddrA)); len(seen) != n {
		t.Fatalf("%d of %d frames arrived", len(seen), n)
	}
}
