package redis

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// faultBound is the generous bound on how long any call may take against a
// dead or hung server: a correctness bound (no hang), not a latency target.
const faultBound = 10 * faultOpTimeout

// recoverWait bounds the wait for a Backend to work again after its server
// comes back (go-redis probes a node that refused PoolSize dials once per
// second).
const recoverWait = 10 * time.Second

// shortOps gives a Backend the fault tests' operation timeout.
func shortOps(o *Options) { o.OpTimeout = faultOpTimeout }

// call is one kind of Backend call, returning its error.
type call struct {
	name string
	fn   func(ctx context.Context, b *Backend, i int) error
}

// allCalls exercises every operation of the Backend, each on its own key.
var allCalls = []call{
	{"SetNX", func(ctx context.Context, b *Backend, i int) error {
		_, err := b.SetNX(ctx, fmt.Appendf(nil, "fault:nx:%d", i), []byte("v"), time.Minute)
		return err
	}},
	{"Set", func(ctx context.Context, b *Backend, i int) error {
		return b.Set(ctx, fmt.Appendf(nil, "fault:set:%d", i), []byte("v"), time.Minute)
	}},
	{"Get", func(ctx context.Context, b *Backend, i int) error {
		_, err := b.Get(ctx, fmt.Appendf(nil, "fault:set:%d", i))
		return err
	}},
	{"Del", func(ctx context.Context, b *Backend, i int) error {
		return b.Del(ctx, fmt.Appendf(nil, "fault:del:%d", i))
	}},
	{"SetNXBatch", func(ctx context.Context, b *Backend, i int) error {
		return b.SetNXBatch(ctx, batchOps(i, 16))
	}},
	{"SetBatch", func(ctx context.Context, b *Backend, i int) error {
		return b.SetBatch(ctx, batchOps(i, 16))
	}},
	{"GetBatch", func(ctx context.Context, b *Backend, i int) error {
		return b.GetBatch(ctx, batchOps(i, 16))
	}},
	{"List", func(ctx context.Context, b *Backend, i int) error {
		_, err := b.List(ctx, cache.ListOptions{Pattern: "fault:"})
		return err
	}},
}

// batchOps returns n ops on distinct keys for round i.
func batchOps(i, n int) []cache.Op {
	ops := make([]cache.Op, n)
	for j := range ops {
		ops[j] = cache.Op{Key: fmt.Appendf(nil, "fault:batch:%d:%d", i, j), Val: []byte("v"), TTL: time.Minute}
	}
	return ops
}

// wantAllFail runs every call rounds times from several goroutines at once
// and fails unless each returns an error within faultBound. ctx carries no
// deadline: the Backend's own operation timeout must bound the calls.
func wantAllFail(t *testing.T, b *Backend, rounds int) {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		slowest time.Duration // guarded by mu
	)
	defer func() { t.Logf("slowest failing call: %v (operation timeout %v)", slowest, faultOpTimeout) }()
	for _, c := range allCalls {
		wg.Go(func() {
			for i := range rounds {
				start := time.Now()
				err := c.fn(context.Background(), b, i)
				d := time.Since(start)
				mu.Lock()
				slowest = max(slowest, d)
				mu.Unlock()
				if d > faultBound {
					t.Errorf("%s took %v against a dead server, bound %v", c.name, d, faultBound)
				}
				if err == nil {
					t.Errorf("%s succeeded against a dead server", c.name)
					return
				}
			}
		})
	}
	wg.Wait()
	start := time.Now()
	if b.Healthy(context.Background()) {
		t.Error("Healthy = true against a dead server")
	}
	if d := time.Since(start); d > faultBound {
		t.Errorf("Healthy took %v, bound %v", d, faultBound)
	}
}

// waitAllWork waits until every call succeeds again on the same Backend.
func waitAllWork(t *testing.T, b *Backend) {
	t.Helper()
	deadline := time.Now().Add(recoverWait)
	for _, c := range allCalls {
		for {
			err := c.fn(context.Background(), b, 0)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still failing %v after the server came back: %v", c.name, recoverWait, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !b.Healthy(context.Background()) {
		t.Fatal("Healthy = false after recovery")
	}
}

// TestServerKilledMidRun: with the server killed under load, every call
// fails within the bound (no hang, no panic), Healthy is false, and the same
// Backend works again once the server restarts on its port.
func TestServerKilledMidRun(t *testing.T) {
	for _, p := range batchPaths {
		t.Run(p.name, func(t *testing.T) { testServerKilledMidRun(t, p.mutate) })
	}
}

func testServerKilledMidRun(t *testing.T, mutate func(*Options)) {
	srv := redistest.Start(t)
	b := newBackend(t, []string{srv.Addr()}, false, shortOps, mutate)
	waitAllWork(t, b)

	// Load in flight while the server dies.
	stop := make(chan struct{})
	var load sync.WaitGroup
	for w := range 4 {
		load.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				_ = allCalls[(w+i)%len(allCalls)].fn(context.Background(), b, i)
				if d := time.Since(start); d > faultBound {
					t.Errorf("a call took %v while the server died", d)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	srv.Kill()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	load.Wait()

	wantAllFail(t, b, 20)
	srv.Restart()
	waitAllWork(t, b)
}

// TestServerFrozen: a server that accepts connections but never answers
// (SIGSTOP) makes every call fail within the bound; it recovers on SIGCONT.
func TestServerFrozen(t *testing.T) {
	for _, p := range batchPaths {
		t.Run(p.name, func(t *testing.T) {
			srv := redistest.Start(t)
			b := newBackend(t, []string{srv.Addr()}, false, shortOps, p.mutate)
			waitAllWork(t, b)
			srv.Freeze()
			wantAllFail(t, b, 3)
			srv.Thaw()
			waitAllWork(t, b)
		})
	}
}

// TestNewFailsWithinDialTimeout: New and cache.Open are fail-closed and
// bounded by the dial timeout, against a closed port and against a server
// that accepts but never answers.
func TestNewFailsWithinDialTimeout(t *testing.T) {
	const dial = 200 * time.Millisecond
	const bound = dial + 300*time.Millisecond // scheduling slack

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	frozen := redistest.Start(t)
	frozen.Freeze()
	t.Cleanup(frozen.Thaw)

	for _, tc := range []struct{ name, addr string }{
		{"closed port", closed},
		{"frozen server", frozen.Addr()},
	} {
		t.Run(tc.name+"/New", func(t *testing.T) {
			start := time.Now()
			b, err := New(context.Background(), Options{Addrs: []string{tc.addr}, DialTimeout: dial})
			if d := time.Since(start); d > bound {
				t.Errorf("New took %v, want <= %v", d, bound)
			}
			if err == nil {
				b.Close()
				t.Fatal("New succeeded")
			}
		})
		t.Run(tc.name+"/Open", func(t *testing.T) {
			start := time.Now()
			b, err := cache.Open(cache.Config{Backend: cache.BackendRedis, RedisAddr: tc.addr, DialTimeout: dial})
			if d := time.Since(start); d > bound {
				t.Errorf("Open took %v, want <= %v", d, bound)
			}
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

// TestClusterMasterKilled: one master of three dies. Listing reports it in
// Partial and still returns the other masters' keys; a batch across slots
// fails only the dead master's keys; Healthy is false; everything recovers
// when the master restarts.
func TestClusterMasterKilled(t *testing.T) {
	for _, p := range batchPaths {
		t.Run(p.name, func(t *testing.T) { testClusterMasterKilled(t, p.mutate) })
	}
}

func testClusterMasterKilled(t *testing.T, mutate func(*Options)) {
	c := redistest.StartCluster(t, 3)
	// The default (long) operation timeout: a dead master must fail its
	// calls at once (connection refused), not by timing out.
	b := newBackend(t, c.Addrs(), true, mutate)
	ctx := t.Context()

	const n = 90
	ops := storedOps(t, b, "kill", n)
	victim := c.Nodes()[1]
	onVictim := keysOn(t, victim, "kill:*")
	if len(onVictim) == 0 || len(onVictim) == n {
		t.Fatalf("%d of %d keys on the victim: want a spread", len(onVictim), n)
	}
	victim.Kill()

	pages := listAllPages(t, b, cache.ListOptions{Pattern: "kill:", Limit: 7})
	got := map[string]bool{}
	partial := map[string]bool{}
	for _, pg := range pages {
		for _, e := range pg.Entries {
			got[string(e.Key)] = true
		}
		for _, p := range pg.Partial {
			partial[p] = true
		}
	}
	if !partial[victim.Addr()] || len(partial) != 1 {
		t.Errorf("Partial = %v, want exactly the dead master %s", partial, victim.Addr())
	}
	if len(got) != n-len(onVictim) {
		t.Errorf("listed %d keys, want the %d of the live masters", len(got), n-len(onVictim))
	}
	for k := range onVictim {
		if got[k] {
			t.Errorf("listed %q, a key of the dead master", k)
		}
	}

	start := time.Now()
	err := b.SetNXBatch(ctx, ops)
	if d := time.Since(start); d > faultBound {
		t.Errorf("SetNXBatch took %v with a dead master", d)
	}
	if err != nil {
		t.Errorf("SetNXBatch returned %v: only some ops failed, want per-op errors only", err)
	}
	for _, op := range ops {
		if dead := onVictim[string(op.Key)]; dead != (op.Err != nil) {
			t.Errorf("%q: Err = %v, on the dead master: %v", op.Key, op.Err, dead)
		}
		if op.Err == nil && op.Created {
			t.Errorf("%q: Created on an existing key", op.Key)
		}
	}
	if b.Healthy(ctx) {
		t.Error("Healthy = true with a dead master")
	}

	victim.Restart()
	c.WaitOK()
	waitAllWork(t, b)
}

// keysOn returns the keys matching pattern stored on one server.
func keysOn(t *testing.T, s *redistest.Server, pattern string) map[string]bool {
	t.Helper()
	out, err := s.Do("KEYS", pattern)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, k := range splitLines(out) {
		keys[k] = true
	}
	return keys
}
