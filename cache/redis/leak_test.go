package redis

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// TestCloseStopsGoroutines: a Backend used against a single server and a
// cluster, including while a server is down (go-redis then starts a
// background dial prober), leaves no goroutine behind once closed.
func TestCloseStopsGoroutines(t *testing.T) {
	srv := redistest.Start(t)
	dead := redistest.Start(t)
	cl := redistest.StartCluster(t, 3)
	ctx := context.Background()
	settle := func() int {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()

	for _, tc := range []struct {
		addrs   []string
		cluster bool
	}{{[]string{srv.Addr()}, false}, {[]string{dead.Addr()}, false}, {cl.Addrs(), true}} {
		b := newBackend(t, tc.addrs, tc.cluster)
		if tc.addrs[0] == dead.Addr() {
			dead.Kill()
		}
		for i := range 50 {
			_ = allCalls[i%len(allCalls)].fn(ctx, b, i)
		}
		_ = b.Healthy(ctx)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}

	deadline := time.Now().Add(10 * time.Second) // the dial prober sleeps 1 s between probes
	for {
		n := settle()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
	}
}
