package aerospike

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// fakeNode listens on a loopback port and counts connections; each is
// handled by handle (nil: close at once, like a node that just started and
// rejects clients).
type fakeNode struct {
	l     net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func startFakeNode(t *testing.T, handle func(net.Conn)) *fakeNode {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{l: l}
	f.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			if handle == nil {
				c.Close()
				continue
			}
			f.wg.Go(func() { handle(c) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeNode) addr() string { return f.l.Addr().String() }

// TestNewRetriesThenFails: against a node that accepts and drops every
// connection, New keeps retrying (several connections) and gives up within
// its connect budget, with an error.
func TestNewRetriesThenFails(t *testing.T) {
	node := startFakeNode(t, nil)
	const dial = 100 * time.Millisecond
	budget := ConnectBudget(dial)
	start := time.Now()
	b, err := New(context.Background(), Options{Hosts: []string{node.addr()}, Namespace: "test", DialTimeout: dial})
	elapsed := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatal("New succeeded against a node that drops connections")
	}
	if elapsed > budget+dial+500*time.Millisecond {
		t.Errorf("New took %v, budget %v", elapsed, budget)
	}
	if n := node.conns.Load(); n < 2 {
		t.Errorf("New connected %d times: want retries", n)
	}
	t.Logf("New failed after %v and %d connections: %v", elapsed, node.conns.Load(), err)
}

// TestNewFailsWithinBudget: against a closed port and against a node that
// accepts but never answers, New and cache.Open fail within the connect
// budget; the caller's earlier deadline cuts it shorter.
func TestNewFailsWithinBudget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	silent := startFakeNode(t, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Read(make([]byte, 1)) // until the client gives up
	})

	const dial = 100 * time.Millisecond
	bound := ConnectBudget(dial) + dial + 500*time.Millisecond
	for _, tc := range []struct{ name, addr string }{
		{"closed port", closed},
		{"silent node", silent.addr()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			b, err := New(context.Background(), Options{Hosts: []string{tc.addr}, Namespace: "test", DialTimeout: dial})
			if err == nil {
				b.Close()
				t.Fatal("New succeeded")
			}
			if d := time.Since(start); d > bound {
				t.Errorf("New took %v, bound %v", d, bound)
			}

			start = time.Now()
			be, err := cache.Open(cache.Config{Backend: cache.BackendAerospike, AeroHosts: []string{tc.addr},
				AeroNamespace: "test", DialTimeout: dial})
			if err == nil {
				be.Close()
				t.Fatal("Open succeeded")
			}
			if d := time.Since(start); d > bound {
				t.Errorf("Open took %v, bound %v", d, bound)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 2*dial)
			defer cancel()
			start = time.Now()
			if b, err := New(ctx, Options{Hosts: []string{tc.addr}, Namespace: "test", DialTimeout: dial}); err == nil {
				b.Close()
				t.Fatal("New succeeded")
			}
			if d := time.Since(start); d > 2*dial+dial+500*time.Millisecond {
				t.Errorf("New under a %v deadline took %v", 2*dial, d)
			}
		})
	}
}

// TestFailedNewLeavesNoGoroutines: the retried connection attempts of a
// failed New leave no goroutine behind.
func TestFailedNewLeavesNoGoroutines(t *testing.T) {
	node := startFakeNode(t, nil)
	settle := func() int {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	if b, err := New(context.Background(), Options{Hosts: []string{node.addr()}, Namespace: "test", DialTimeout: 50 * time.Millisecond}); err == nil {
		b.Close()
		t.Fatal("New succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := settle()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after a failed New, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
	}
}
