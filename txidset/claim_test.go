package txidset

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

const prefix = "bsp:tx:"

func claim(t testing.TB, s *Set, ns ...uint64) []Result {
	t.Helper()
	out := make([]Result, len(ns))
	s.ClaimBatch(context.Background(), ids(ns...), out)
	return out
}

func TestResult(t *testing.T) {
	for _, tc := range []struct {
		r       Result
		forward bool
		name    string
	}{{Won, true, "won"}, {Lost, false, "lost"}, {LocalHit, false, "local-hit"}, {FailOpen, true, "fail-open"}, {9, false, "invalid"}} {
		if tc.r.Forward() != tc.forward || tc.r.String() != tc.name {
			t.Errorf("%d: Forward=%v String=%q", tc.r, tc.r.Forward(), tc.r.String())
		}
	}
}

func TestClaimTierOneOnly(t *testing.T) {
	s, reg := newTestSet(t, Options{Capacity: 1000, Prefix: prefix})
	if got := claim(t, s, 1, 2, 1, 3, 2); !slices.Equal(got, []Result{Won, Won, LocalHit, Won, LocalHit}) {
		t.Fatalf("results %v", got)
	}
	if got := s.Claim(context.Background(), id(3)); got != LocalHit {
		t.Fatalf("Claim of a seen id = %v", got)
	}
	if s.State() != StateLocalOnly || !s.Healthy() {
		t.Fatalf("State %q Healthy %v", s.State(), s.Healthy())
	}
	if metric(t, reg, "won_total") != 3 || metric(t, reg, "local_hits_total") != 3 || metric(t, reg, "local_entries") != 3 {
		t.Fatalf("won %v hits %v entries %v", metric(t, reg, "won_total"), metric(t, reg, "local_hits_total"), metric(t, reg, "local_entries"))
	}
}

// Capacity 0 turns dedup off: everything is Won and the backend is idle.
func TestClaimCapacityZero(t *testing.T) {
	f := newFake(nil)
	s, reg := newTestSet(t, Options{Capacity: 0, Prefix: prefix, Backend: fakeBatcher{f}})
	if got := claim(t, s, 1, 1, 1); !slices.Equal(got, []Result{Won, Won, Won}) {
		t.Fatalf("results %v", got)
	}
	if f.batches.Load()+f.calls.Load() != 0 || s.State() != StateDisabled || s.Local() != nil {
		t.Fatalf("backend used %d times, State %q", f.batches.Load()+f.calls.Load(), s.State())
	}
	if metric(t, reg, "won_total") != 3 {
		t.Fatal("won not counted")
	}
}

// All tier-1 misses of a batch go in one round trip; duplicates within the
// batch and tier-1 hits never reach the backend.
func TestClaimOneRoundTripPerBatch(t *testing.T) {
	f := newFake(nil)
	other, _ := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: fakeBatcher{f}})
	s, reg := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: fakeBatcher{f}, TTL: time.Minute})
	claim(t, other, 5) // another instance won 5
	f.batches.Store(0)

	got := claim(t, s, 1, 2, 1, 5, 2, 3)
	want := []Result{Won, Won, LocalHit, Lost, LocalHit, Won}
	if !slices.Equal(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	if f.batches.Load() != 1 || f.calls.Load() != 0 {
		t.Fatalf("%d batches, %d single calls; want 1, 0", f.batches.Load(), f.calls.Load())
	}
	if got := claim(t, s, 1, 2, 3, 5); !slices.Equal(got, []Result{LocalHit, LocalHit, LocalHit, LocalHit}) {
		t.Fatalf("second batch %v", got)
	}
	if f.batches.Load() != 1 {
		t.Fatal("an all-hit batch reached the backend")
	}
	if !f.has(key(prefix, 1)) || f.ttls[key(prefix, 1)] != time.Minute || f.vals[key(prefix, 1)] != "1" {
		t.Fatalf("key %s not written with TTL 1m and value 1", key(prefix, 1))
	}
	for name, v := range map[string]float64{"won_total": 3, "lost_total": 1, "local_hits_total": 6,
		"backend_round_trips_total": 1, "batch_size": 1, "backend_latency_seconds": 1, "backend_up": 1} {
		if got := metric(t, reg, name); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
}

// A backend without Batcher gets one SetNX per miss, under one deadline.
func TestClaimFallsBackToSingleSetNX(t *testing.T) {
	f := newFake(nil)
	s, reg := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: f})
	if got := claim(t, s, 1, 2, 2, 3); !slices.Equal(got, []Result{Won, Won, LocalHit, Won}) {
		t.Fatalf("results %v", got)
	}
	if f.calls.Load() != 3 || metric(t, reg, "backend_round_trips_total") != 1 {
		t.Fatalf("%d SetNX calls, %v round trips; want 3, 1", f.calls.Load(), metric(t, reg, "backend_round_trips_total"))
	}
}

// Backend errors fail open, and the TxID is still recorded in tier 1.
func TestClaimFailsOpen(t *testing.T) {
	for _, batch := range []bool{true, false} {
		f := newFake(nil)
		var b cache.Backend = f
		if batch {
			b = fakeBatcher{f}
		}
		s, reg := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: b, Failures: 100})
		f.down.Store(true)
		if got := claim(t, s, 1, 2); !slices.Equal(got, []Result{FailOpen, FailOpen}) {
			t.Fatalf("batch=%v: results %v", batch, got)
		}
		f.down.Store(false)
		if got := claim(t, s, 1, 2, 3); !slices.Equal(got, []Result{LocalHit, LocalHit, Won}) {
			t.Fatalf("batch=%v: after the outage %v", batch, got)
		}
		if metric(t, reg, "fail_open_total") != 2 || metric(t, reg, "backend_errors_total") != 1 {
			t.Fatalf("batch=%v: fail_open %v backend_errors %v", batch,
				metric(t, reg, "fail_open_total"), metric(t, reg, "backend_errors_total"))
		}
	}
}

// Per-op errors fail open only the ops that failed.
func TestClaimPartialErrors(t *testing.T) {
	f := newFake(nil)
	bad := key(prefix, 2)
	fail := func(k string) bool { return k == bad }
	f.failKey.Store(&fail)
	s, reg := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: fakeBatcher{f}, Failures: 1})
	if got := claim(t, s, 1, 2, 3); !slices.Equal(got, []Result{Won, FailOpen, Won}) {
		t.Fatalf("results %v", got)
	}
	if s.State() != StateOK || metric(t, reg, "backend_errors_total") != 1 {
		t.Fatalf("a partial failure marked the backend down (%s) or was not counted", s.State())
	}
}

// A slow backend costs at most OpTimeout, then fails open.
func TestClaimTimeout(t *testing.T) {
	f := newFake(nil)
	f.delay.Store(int64(10 * time.Second))
	const opTimeout = 30 * time.Millisecond
	for _, b := range []cache.Backend{f, fakeBatcher{f}} {
		s, _ := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: b, OpTimeout: opTimeout, Failures: 100})
		start := time.Now()
		got := claim(t, s, 1, 2, 3, 4)
		if el := time.Since(start); el > opTimeout+time.Second {
			t.Fatalf("ClaimBatch took %v with OpTimeout %v", el, opTimeout)
		}
		if !slices.Equal(got, []Result{FailOpen, FailOpen, FailOpen, FailOpen}) {
			t.Fatalf("results %v", got)
		}
	}
}

// Consecutive failures mark the backend down: claims then fail open at once
// without calling it, a background probe notices recovery, and claims use
// the backend again without a new Set.
func TestClaimSkipsDownBackendUntilProbeSucceeds(t *testing.T) {
	f := newFake(nil)
	s, reg := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: fakeBatcher{f},
		Failures: 2, ReconnectMin: 5 * time.Millisecond, ReconnectMax: 20 * time.Millisecond})
	f.down.Store(true)
	claim(t, s, 1)
	if !s.Healthy() {
		t.Fatal("down after one failure, Failures is 2")
	}
	claim(t, s, 2)
	if s.Healthy() || s.State() != StateDegraded || metric(t, reg, "backend_up") != 0 {
		t.Fatalf("Healthy %v State %q after 2 failures", s.Healthy(), s.State())
	}
	before := f.batches.Load()
	start := time.Now()
	for n := range uint64(100) {
		if got := claim(t, s, 100+n); got[0] != FailOpen {
			t.Fatalf("claim while down = %v", got[0])
		}
	}
	if f.batches.Load() != before {
		t.Fatal("claims called a backend marked down")
	}
	t.Logf("100 claims while down took %v", time.Since(start))
	eventually(t, time.Second, "probes", func() bool { return f.probes.Load() >= 2 })

	f.down.Store(false)
	eventually(t, 2*time.Second, "recovery", s.Healthy)
	if got := claim(t, s, 1000); got[0] != Won || f.batches.Load() != before+1 {
		t.Fatalf("after recovery: %v, %d batches", got[0], f.batches.Load()-before)
	}
	if metric(t, reg, "backend_up") != 1 || s.State() != StateOK {
		t.Fatal("backend_up gauge or State not restored")
	}
}

// A round trip cut short by the caller's own context fails open but says
// nothing about the backend.
func TestClaimCallerCancelDoesNotMarkDown(t *testing.T) {
	f := newFake(nil)
	f.delay.Store(int64(time.Second))
	s, _ := newTestSet(t, Options{Capacity: 1000, Prefix: prefix, Backend: fakeBatcher{f}, Failures: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := make([]Result, 1)
	s.ClaimBatch(ctx, ids(1), out)
	if out[0] != FailOpen || !s.Healthy() {
		t.Fatalf("result %v, Healthy %v", out[0], s.Healthy())
	}
}

// Many goroutines claiming the same novel TxIDs in one process forward each
// exactly once, with and without a backend.
func TestClaimConcurrentSameIDsForwardOnce(t *testing.T) {
	for _, name := range []string{"local-only", "backend"} {
		t.Run(name, func(t *testing.T) {
			o := Options{Capacity: 1 << 16, Prefix: prefix}
			if name == "backend" {
				o.Backend = fakeBatcher{newFake(nil)}
			}
			s, _ := newTestSet(t, o)
			const n, workers = 5000, 8
			var mu sync.Mutex
			forwarded := make([]int, n)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := s.NewClaimer()
					batch := make([][32]byte, 0, 16)
					out := make([]Result, 16)
					var nums []int
					for i := range n {
						k := (i + w*613) % n
						batch = append(batch, id(uint64(k)))
						nums = append(nums, k)
						if len(batch) == cap(batch) || i == n-1 {
							c.ClaimBatch(context.Background(), batch, out)
							mu.Lock()
							for j, r := range out[:len(batch)] {
								if r.Forward() {
									forwarded[nums[j]]++
								}
							}
							mu.Unlock()
							batch, nums = batch[:0], nums[:0]
						}
					}
				}()
			}
			wg.Wait()
			for k, c := range forwarded {
				if c != 1 {
					t.Fatalf("TxID %d forwarded %d times", k, c)
				}
			}
		})
	}
}

// A tier-1 hit allocates nothing, through a Claimer, the pooled
// Set.ClaimBatch, or Set.Claim.
func TestClaimAllHitsNoAllocs(t *testing.T) {
	s, _ := newTestSet(t, Options{Capacity: 1 << 12, Prefix: prefix, Backend: fakeBatcher{newFake(nil)}})
	ns := make([]uint64, 64)
	for i := range ns {
		ns[i] = uint64(i)
	}
	batch := ids(ns...)
	out := make([]Result, 64)
	ctx := context.Background()
	s.ClaimBatch(ctx, batch, out)
	c := s.NewClaimer()
	for name, f := range map[string]func(){
		"Claimer.ClaimBatch": func() { c.ClaimBatch(ctx, batch, out) },
		"Set.ClaimBatch":     func() { s.ClaimBatch(ctx, batch, out) },
		"Set.Claim":          func() { s.Claim(ctx, batch[7]) },
	} {
		if a := testing.AllocsPerRun(200, f); a != 0 {
			t.Errorf("%s allocates %.1f per all-hit batch", name, a)
		}
	}
	if out[63] != LocalHit {
		t.Fatalf("result %v", out[63])
	}
}

// Backend keys are Prefix + 64 lower-case hex digits, also for batches
// larger than the key buffer's first size.
func TestClaimKeys(t *testing.T) {
	f := newFake(nil)
	p := "bsl:egr:deploy-1:"
	s, _ := newTestSet(t, Options{Capacity: 4096, Prefix: p, Backend: fakeBatcher{f}})
	ns := make([]uint64, 200)
	for i := range ns {
		ns[i] = uint64(i) * 7
	}
	claim(t, s, ns[:3]...)
	claim(t, s, ns...)
	for _, n := range ns {
		k := key(p, n)
		if !f.has(k) || len(k) != len(p)+64 || strings.ToLower(k) != k {
			t.Fatalf("key %q missing or malformed", k)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"negative capacity": {Capacity: -1},
		"negative ttl":      {Capacity: 1, TTL: -time.Second},
		"two backends":      {Capacity: 1, Backend: newFake(nil), BackendConfig: &cache.Config{Backend: fakeKind}},
		"unknown kind":      {Capacity: 1, BackendConfig: &cache.Config{Backend: "no-such-backend"}},
	} {
		if _, err := New(o); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: err = %v, want ErrOptions", name, err)
		}
	}
	if _, err := New(Options{Capacity: MaxCapacity + 1}); !errors.Is(err, ErrCapacity) {
		t.Errorf("huge capacity: err = %v", err)
	}
	s, reg := newTestSet(t, Options{Capacity: 10})
	if _, err := New(Options{Capacity: 10, Registerer: reg, Namespace: "test"}); err == nil {
		t.Error("registering the same metrics twice succeeded")
	}
	s.Close()
	s2, err := New(Options{Capacity: 10, Registerer: reg, Namespace: "test"})
	if err != nil {
		t.Fatalf("metrics not unregistered by Close: %v", err)
	}
	s2.Close()
}
