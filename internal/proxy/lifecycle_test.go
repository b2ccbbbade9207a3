package proxy

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/frame"
)

// waitGoroutines waits until at most n goroutines run, failing with a dump
// after timeout.
func waitGoroutines(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want ≤ %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseUnblocksEverything(t *testing.T) {
	base := runtime.NumGoroutine()
	fab := e2eFabric(t)
	o := e2eOptions(t, fab)
	o.TCPListen = "127.0.0.1:0"
	p, err := New(o, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	c, err := net.Dial("tcp", p.TCPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(e2eFrame(1)[:50]) // a frame in progress: its reader is blocked
	time.Sleep(50 * time.Millisecond)
	p.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	c.Close()
	waitGoroutines(t, base, 5*time.Second)
	if err := p.Run(context.Background()); err == nil {
		t.Fatal("Run after Close did not fail")
	}
	if r := p.Ready(); r.Ready || r.State != "stopped" {
		t.Fatalf("readiness after Close: %+v", r)
	}
}

func TestCloseBeforeRun(t *testing.T) {
	base := runtime.NumGoroutine()
	p, err := New(e2eOptions(t, e2eFabric(t)), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Ready(); r.Ready || r.State != "starting" {
		t.Fatalf("readiness before Run: %+v", r)
	}
	p.Close()
	p.Close()
	waitGoroutines(t, base, 5*time.Second)
}

// TestDrainOnCancel cancels Run's context while traffic flows: readiness
// turns "draining" at once, frames keep being forwarded until the drain
// timeout, and Run returns nil.
func TestDrainOnCancel(t *testing.T) {
	fab := e2eFabric(t)
	tp := openTap(t, fab)
	o := e2eOptions(t, fab)
	o.DrainTimeout = 600 * time.Millisecond
	o.DrainQuiet = 200 * time.Millisecond
	p, err := New(o, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	s := newSender(t, p.UDPAddr())
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() { // 5 frames every 10 ms until stopped
		n := 0
		for {
			select {
			case <-stop:
				sent <- n
				return
			case <-time.After(10 * time.Millisecond):
			}
			var ds [][]byte
			for range 5 {
				ds = append(ds, e2eFrame(uint64(n)))
				n++
			}
			s.send(ds)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if r := p.Ready(); !r.Ready {
		t.Fatalf("not ready while running: %+v", r)
	}
	start := time.Now()
	cancel()
	time.Sleep(20 * time.Millisecond)
	if r := p.Ready(); r.Ready || r.State != "draining" {
		t.Fatalf("readiness while draining: %+v", r)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	n := <-sent
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("drain took %v", d)
	}
	// Every frame sent before the sender stopped (while the proxy was
	// draining, still forwarding) arrived.
	got := tp.wait(t, n, 5*time.Second)
	if len(checkStamped(t, got, flowKeys(p.FlowSource()))) != n {
		t.Fatalf("frames sent during the drain were lost")
	}
}

func TestOptionsValidation(t *testing.T) {
	base := testOptions()
	cases := []struct {
		name, want string
		mutate     func(*Options)
	}{
		{"frag mtu", "-frag-mtu (env FRAG_MTU)", func(o *Options) { o.FragMTU = 1000 }},
		{"batch", "-batch (env BATCH)", func(o *Options) { o.Batch = 5000 }},
		{"workers", "-workers (env WORKERS)", func(o *Options) { o.Workers = -1 }},
		{"readers", "-readers (env READERS)", func(o *Options) { o.Readers = 100 }},
		{"max datagram", "-max-datagram (env MAX_DATAGRAM)", func(o *Options) { o.MaxDatagram = 70000 }},
		{"fragments", "-max-payload (env MAX_PAYLOAD)", func(o *Options) { o.MaxPayload = 1 << 30 }},
		{"negative ttl", "-dedup-ttl (env DEDUP_TTL)", func(o *Options) { o.DedupTTL = -time.Second }},
		{"flow source", "-flow-source (env FLOW_SOURCE)", func(o *Options) { o.FlowSource = netip.MustParseAddr("239.1.1.1") }},
		{"shard bits", "SHARD_BITS", func(o *Options) { o.Fabric.ShardBits = 13 }},
		{"state file", "-state-file (env STATE_FILE)", func(o *Options) { o.StateFile = "/nonexistent-mcdedup-dir/flows" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.mutate(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want an error naming %s", err, c.want)
			}
			if _, err := New(o, Deps{}); err == nil {
				t.Fatal("New accepted invalid options")
			}
		})
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("valid options rejected: %v", err)
	}
}

func TestDefaultFlowSource(t *testing.T) {
	fab := testFabric(9001)
	a, err := DefaultFlowSource(fab)
	if err != nil || a != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("IPv4 groups on lo: %v %v", a, err)
	}
	fab.IPv4Base = netip.Addr{}
	if a, err := DefaultFlowSource(fab); err != nil || a != netip.IPv6Loopback() {
		t.Fatalf("IPv6 groups on lo: %v %v", a, err)
	}
	fab.Ifaces = []string{"no-such-interface0"}
	if _, err := DefaultFlowSource(fab); err == nil {
		t.Fatal("no error for a missing interface")
	}
}

// TestFlowsExpireWhileRunning pins that idle flows are swept by the
// workers: a flow unused for FlowIdle restarts at SeqNum 1.
func TestFlowsExpireWhileRunning(t *testing.T) {
	o := testOptions()
	o.FlowIdle = 30 * time.Millisecond
	fp := newFakeProxy(t, o, Deps{})
	a := txFrame(txid(1, 1, 4), [32]byte{}, payload(10, 1))
	b := txFrame(txid(2, 2, 4), [32]byte{}, payload(10, 1))
	fp.feed(a)
	time.Sleep(60 * time.Millisecond)
	fp.feed(b) // sweeps flow 1 (idle), creates flow 2
	time.Sleep(60 * time.Millisecond)
	fp.feed(txFrame(txid(3, 1, 4), [32]byte{}, payload(10, 1)))
	got := fp.egress.take()
	f, _ := frame.Parse(got[2].Data)
	if f.SeqNum != 1 || fp.core.flows.expired.Load() == 0 {
		t.Fatalf("flow not expired: SeqNum %d, expired %d", f.SeqNum, fp.core.flows.expired.Load())
	}
}
