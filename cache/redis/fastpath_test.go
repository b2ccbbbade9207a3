package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// Tests of the fast path's own machinery (pools, deadlines, failure
// handling) against a single real server; fastpath_cluster_test.go covers
// cluster routing. The conformance suite and the fault tests run against
// the fast path too.

// TestFastPathNoAllocs: in steady state a SetNXBatch of 64 novel keys
// allocates nothing, on a single server and across a cluster's masters.
func TestFastPathNoAllocs(t *testing.T) {
	for _, tc := range startTargets(t) {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, tc.addrs, tc.cluster)
			keys, st := newKeySource(), newBatchState()
			for range 10 { // dial, grow the buffers
				setNXBatch(t, b, keys, st)
			}
			if n := testing.AllocsPerRun(200, func() { setNXBatch(t, b, keys, st) }); n != 0 {
				t.Fatalf("SetNXBatch of %d novel keys: %v allocations per batch, want 0", benchBatch, n)
			}
		})
	}
}

// distinctOps returns n ops on fresh keys of round, each with a value of its
// own, so that a reply read for the wrong op would show.
func distinctOps(prefix string, round, n int) []cache.Op {
	ops := make([]cache.Op, n)
	for i := range ops {
		ops[i] = cache.Op{
			Key: fmt.Appendf(nil, "%s:%d:%d", prefix, round, i),
			Val: fmt.Appendf(nil, "val-%d-%d-%s", round, i, strings.Repeat("x", i%7)),
			TTL: time.Hour,
		}
	}
	return ops
}

// wantAligned runs SetNXBatch, GetBatch, SetBatch and GetBatch on fresh keys
// and fails unless every op got its own result: all created, every GET its
// own value. A connection returned to the pool with unread replies would
// shift the replies by one.
func wantAligned(t *testing.T, b *Backend, prefix string, round int) {
	t.Helper()
	ctx := t.Context()
	ops := distinctOps(prefix, round, 24)
	if err := b.SetNXBatch(ctx, ops); err != nil {
		t.Fatalf("round %d: SetNXBatch: %v", round, err)
	}
	for i, op := range ops {
		if op.Err != nil || !op.Created {
			t.Fatalf("round %d op %d: Created %v, Err %v on a fresh key", round, i, op.Created, op.Err)
		}
	}
	check := func(what string, want func(i int) []byte) {
		t.Helper()
		get := make([]cache.Op, len(ops))
		for i := range get {
			get[i].Key = ops[i].Key
		}
		if err := b.GetBatch(ctx, get); err != nil {
			t.Fatalf("round %d: GetBatch %s: %v", round, what, err)
		}
		for i := range get {
			if get[i].Err != nil || !bytes.Equal(get[i].Val, want(i)) {
				t.Fatalf("round %d %s op %d: Val %q, Err %v; want %q", round, what, i, get[i].Val, get[i].Err, want(i))
			}
		}
	}
	check("after SetNXBatch", func(i int) []byte { return ops[i].Val })
	for i := range ops {
		ops[i].Val = append(ops[i].Val, '!')
	}
	if err := b.SetBatch(ctx, ops); err != nil {
		t.Fatalf("round %d: SetBatch: %v", round, err)
	}
	check("after SetBatch", func(i int) []byte { return ops[i].Val })
}

// TestFastPathFrozenDiscardsConnection: a batch against a hung server ends
// at its deadline and its connection is closed, not pooled with the replies
// still due; once the server resumes (and answers the commands it had
// buffered, to a closed socket), results are exact: no reply misalignment.
func TestFastPathFrozenDiscardsConnection(t *testing.T) {
	srv := redistest.Start(t)
	b := newBackend(t, []string{srv.Addr()}, false, shortOps)
	p := b.fast.single
	wantAligned(t, b, "frozen-before", 0)

	srv.Freeze()
	thawed := false
	defer func() {
		if !thawed {
			srv.Thaw()
		}
	}()
	for round := range 3 {
		ops := distinctOps("frozen-during", round, 16)
		start := time.Now()
		err := b.SetNXBatch(context.Background(), ops)
		if d := time.Since(start); d > faultBound {
			t.Errorf("SetNXBatch took %v against a frozen server, bound %v", d, faultBound)
		}
		if err == nil {
			t.Fatal("SetNXBatch succeeded against a frozen server")
		}
		for i := range ops {
			if !errors.Is(ops[i].Err, os.ErrDeadlineExceeded) {
				t.Fatalf("op %d: %v, want a timeout", i, ops[i].Err)
			}
		}
	}
	if n := p.open(); n != 0 {
		t.Fatalf("%d connections open after timeouts: timed-out connections must be closed", n)
	}
	srv.Thaw()
	thawed = true

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for round := range 10 {
				wantAligned(t, b, fmt.Sprintf("frozen-after-%d", g), round)
			}
		})
	}
	wg.Wait()
}

// countingDialer counts the dials of a Backend.
type countingDialer struct{ n atomic.Int32 }

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// TestFastPathDialBackoff: against a dead server, batches fail at once and
// the node is redialed at most every dialBackoff, not once per batch; the
// same Backend works again when the server is back.
func TestFastPathDialBackoff(t *testing.T) {
	srv := redistest.Start(t)
	var d countingDialer
	b := newBackend(t, []string{srv.Addr()}, false, shortOps, func(o *Options) { o.Dialer = d.dial })
	wantAligned(t, b, "backoff", 0)
	srv.Kill()

	const run = 500 * time.Millisecond
	before := d.n.Load()
	batches := 0
	for start := time.Now(); time.Since(start) < run; batches++ {
		ops := distinctOps("backoff-dead", batches, 4)
		t0 := time.Now()
		if err := b.SetNXBatch(context.Background(), ops); err == nil {
			t.Fatal("SetNXBatch succeeded against a dead server")
		}
		if dt := time.Since(t0); dt > faultBound {
			t.Fatalf("a batch took %v against a dead server", dt)
		}
	}
	dials := d.n.Load() - before
	if max := int32(run/dialBackoff) + 2; dials > max {
		t.Fatalf("%d dials in %v over %d batches: want at most %d (one per %v)", dials, run, batches, max, dialBackoff)
	}
	t.Logf("%d batches, %d dials in %v", batches, dials, run)

	srv.Restart()
	deadline := time.Now().Add(recoverWait)
	for b.SetNXBatch(context.Background(), distinctOps("backoff-back", 0, 4)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no recovery after the restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantAligned(t, b, "backoff", 1)
}

// TestFastPathIdleConnectionKept: a connection idle for longer than
// OpTimeout is reused, not redialed. It keeps the deadline of its last
// batch, and the liveness probe of an idle connection used to fail on that
// expired deadline, so every batch after a pause paid a dial (and AUTH).
func TestFastPathIdleConnectionKept(t *testing.T) {
	srv := redistest.Start(t)
	var d countingDialer
	b := newBackend(t, []string{srv.Addr()}, false, shortOps, func(o *Options) { o.Dialer = d.dial })
	if err := b.SetNXBatch(context.Background(), distinctOps("idle", 0, 4)); err != nil {
		t.Fatal(err)
	}
	before := d.n.Load()
	for i := 1; i <= 5; i++ {
		time.Sleep(b.opTimeout + 30*time.Millisecond)
		if err := b.SetNXBatch(context.Background(), distinctOps("idle", i, 4)); err != nil {
			t.Fatal(err)
		}
	}
	if dials := d.n.Load() - before; dials != 0 {
		t.Fatalf("%d dials for 5 batches after pauses longer than OpTimeout %v: want 0", dials, b.opTimeout)
	}
}

// TestFastPathRestartedServerFirstBatchWorks: the idle connections of a
// server that restarted are found closed before anything is sent on them,
// so the first batch afterwards does not fail.
func TestFastPathRestartedServerFirstBatchWorks(t *testing.T) {
	srv := redistest.Start(t)
	b := newBackend(t, []string{srv.Addr()}, false)
	var wg sync.WaitGroup
	for g := range 4 { // several idle connections
		wg.Go(func() { wantAligned(t, b, fmt.Sprintf("restart-%d", g), 0) })
	}
	wg.Wait()
	srv.Restart()
	time.Sleep(2 * dialBackoff) // no backoff from a dial meanwhile (none happened)
	for round := range 3 {
		wantAligned(t, b, "restart-after", round)
	}
}

// TestFastPathPoolBounded: concurrent batches share at most PoolSize
// connections per node; a batch that finds them all busy waits until its
// deadline and then fails, and works once a connection is free.
func TestFastPathPoolBounded(t *testing.T) {
	srv := redistest.Start(t)
	const size = 2
	b := newBackend(t, []string{srv.Addr()}, false, func(o *Options) { o.PoolSize = size })
	p := b.fast.single

	var (
		wg      sync.WaitGroup
		most    atomic.Int32
		stop    = make(chan struct{})
		sampler sync.WaitGroup
	)
	sampler.Go(func() {
		for {
			if n := int32(p.open()); n > most.Load() {
				most.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	})
	for g := range 8 {
		wg.Go(func() {
			for round := range 20 {
				wantAligned(t, b, fmt.Sprintf("bounded-%d", g), round)
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	if m := most.Load(); m > size || m == 0 {
		t.Fatalf("up to %d connections open, pool size %d", m, size)
	}

	// Exhaust the pool, then a batch must wait for its deadline.
	ctx := context.Background()
	far := time.Now().Add(time.Minute)
	var held []*conn
	for range size {
		c, err := p.get(ctx, far)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	ops := distinctOps("bounded-exhausted", 0, 4)
	err := b.SetNXBatch(short, ops)
	if d := time.Since(start); d < 90*time.Millisecond || d > faultBound {
		t.Errorf("a batch on an exhausted pool returned after %v, want its 100ms deadline", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("batch on an exhausted pool: %v, want a deadline error", err)
	}
	for _, c := range held {
		p.put(c, true)
	}
	wantAligned(t, b, "bounded-after", 0)
}

// TestFastPathCloseInterruptsBatch: Close ends a batch waiting on a hung
// server at once (its connection is closed), with cache.ErrClosed.
func TestFastPathCloseInterruptsBatch(t *testing.T) {
	srv := redistest.Start(t)
	b := newBackend(t, []string{srv.Addr()}, false, func(o *Options) { o.OpTimeout = time.Minute })
	wantAligned(t, b, "close", 0)
	srv.Freeze()
	defer srv.Thaw()

	done := make(chan error, 1)
	go func() { done <- b.SetNXBatch(context.Background(), distinctOps("close-hung", 0, 8)) }()
	time.Sleep(100 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, cache.ErrClosed) {
			t.Fatalf("batch interrupted by Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a batch in flight")
	}
}

// TestFastPathPerOpErrors: a value over MaxValueSize and a key of the wrong
// type fail only their own ops; the others in the batch are exact.
func TestFastPathPerOpErrors(t *testing.T) {
	srv := redistest.Start(t)
	b := newBackend(t, []string{srv.Addr()}, false, func(o *Options) { o.MaxValueSize = 16 })
	ctx := t.Context()
	big := bytes.Repeat([]byte("B"), 100)
	if err := b.SetBatch(ctx, []cache.Op{
		{Key: []byte("perop:small"), Val: []byte("small")},
		{Key: []byte("perop:big"), Val: big},
		{Key: []byte("perop:last"), Val: []byte("last")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("LPUSH", "perop:list", "x"); err != nil {
		t.Fatal(err)
	}
	ops := []cache.Op{
		{Key: []byte("perop:small")}, {Key: []byte("perop:big")}, {Key: []byte("perop:list")},
		{Key: []byte("perop:miss")}, {Key: []byte("perop:last")},
	}
	if err := b.GetBatch(ctx, ops); err != nil {
		t.Fatalf("GetBatch with some failing ops: %v, want per-op errors only", err)
	}
	if string(ops[0].Val) != "small" || ops[0].Err != nil {
		t.Errorf("small: %q %v", ops[0].Val, ops[0].Err)
	}
	if !errors.Is(ops[1].Err, ErrValueTooLarge) || ops[1].Val != nil {
		t.Errorf("big: %q %v, want ErrValueTooLarge", ops[1].Val, ops[1].Err)
	}
	var se ServerError
	if !errors.As(ops[2].Err, &se) || !strings.HasPrefix(string(se), "WRONGTYPE") {
		t.Errorf("list: %v, want a WRONGTYPE ServerError", ops[2].Err)
	}
	if ops[3].Val != nil || ops[3].Err != nil {
		t.Errorf("miss: %q %v", ops[3].Val, ops[3].Err)
	}
	if string(ops[4].Val) != "last" || ops[4].Err != nil {
		t.Errorf("last: %q %v", ops[4].Val, ops[4].Err)
	}
	nx := []cache.Op{{Key: []byte("perop:list"), Val: []byte("v")}, {Key: []byte("perop:new"), Val: []byte("v")}}
	if err := b.SetNXBatch(ctx, nx); err != nil || nx[0].Err != nil || nx[0].Created || !nx[1].Created {
		t.Errorf("SetNXBatch: %v; ops %+v", err, nx) // SET NX on a list key: exists, no error
	}
}

// TestFastPathAuth: with a password the fast path authenticates its
// connections.
func TestFastPathAuth(t *testing.T) {
	srv := redistest.Start(t)
	// Set after the start: redistest's readiness probe does not authenticate.
	if _, err := srv.Do("CONFIG", "SET", "requirepass", "s3cret"); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, []string{srv.Addr()}, false, func(o *Options) { o.Password = "s3cret" })
	wantAligned(t, b, "auth", 0)

	// A wrong password fails the dial (AUTH), hence the batch, not the
	// process.
	p := newNodePool(srv.Addr(), 0, &poolConfig{size: 1, dialTimeout: time.Second, password: "wrong", maxValue: 1 << 20})
	defer p.close()
	if _, err := p.get(t.Context(), time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("a connection with a wrong password: %v", err)
	}
}

// A dial cut short by the batch's own deadline (an earlier node of the
// batch took the time) puts no dial backoff on the node, and a batch whose
// deadline has passed takes no connection at all; a dial that fails within
// the time it had still backs off.
func TestFastPathBatchDeadlineIsNotANodeFault(t *testing.T) {
	srv := redistest.Start(t)
	var stall atomic.Bool
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if stall.Load() {
			<-ctx.Done() // a dial that would have taken longer than the batch had left
			return nil, ctx.Err()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	p := newNodePool(srv.Addr(), 0, &poolConfig{size: 2, dialTimeout: time.Second, dialer: dialer, maxValue: 1 << 20})
	defer p.close()

	stall.Store(true)
	if _, err := p.get(t.Context(), time.Now().Add(dialFairShare/5)); err == nil {
		t.Fatal("a stalled dial succeeded")
	}
	stall.Store(false)
	c, err := p.get(t.Context(), time.Now().Add(time.Second))
	if err != nil {
		t.Fatalf("the next batch, with time to dial: %v", err)
	}
	p.put(c, true)

	// A dial that had its fair share and still did not connect (a hung
	// host) is the node's fault: the next batch does not wait on it again.
	q := newNodePool(srv.Addr(), 1, &poolConfig{size: 2, dialTimeout: time.Second, dialer: dialer, maxValue: 1 << 20})
	defer q.close()
	stall.Store(true)
	if _, err := q.get(t.Context(), time.Now().Add(3*dialFairShare)); err == nil {
		t.Fatal("a stalled dial succeeded")
	}
	stall.Store(false)
	if _, err := q.get(t.Context(), time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "not redialed") {
		t.Fatalf("right after a dial that hung for its whole share: %v, want the backoff error", err)
	}

	if _, err := p.get(t.Context(), time.Now().Add(-time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("get with a past deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if c2, err := p.get(t.Context(), time.Now().Add(time.Second)); err != nil || c2 != c {
		t.Fatalf("the idle connection was not kept through a late batch: %v (same conn %v)", err, c2 == c)
	} else {
		p.put(c2, true)
	}

	// A node that refuses within the time it was given does back off.
	srv.Kill() // the idle connection is found closed, then the dial is refused
	if _, err := p.get(t.Context(), time.Now().Add(time.Second)); err == nil {
		t.Fatal("dial to a dead server succeeded")
	}
	if _, err := p.get(t.Context(), time.Now().Add(time.Second)); err == nil || !strings.Contains(err.Error(), "not redialed") {
		t.Fatalf("second dial right after a refused one: %v, want the backoff error", err)
	}
}
