package txidset

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	_ "github.com/mcdedup/mcdedup/cache/redis" // registers the "redis" kind
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// redisSet builds a Set that opens (and owns) its own client to addr, as a
// separate process would.
func redisSet(t testing.TB, addr string, o Options) (*Set, func(string) float64) {
	t.Helper()
	o.BackendConfig = &cache.Config{Backend: cache.BackendRedis, RedisAddr: addr, OpTimeout: o.OpTimeout}
	if o.Capacity == 0 {
		o.Capacity = 1 << 20
	}
	if o.Prefix == "" {
		o.Prefix = prefix
	}
	s, reg := newTestSet(t, o)
	return s, func(name string) float64 { return metric(t, reg, name) }
}

// novelID returns TxID n of run r: distinct across runs and sets.
func novelID(r, n uint64) [32]byte {
	a := id(n)
	binary.LittleEndian.PutUint64(a[24:], r)
	return a
}

// Two Sets sharing one Redis, 4 goroutines each, all claiming the same
// 100,000 TxIDs: every TxID is won exactly once across both sets.
func TestRedisTwoSetsWinEachTxIDOnce(t *testing.T) {
	srv := redistest.Start(t)
	const n, perSet, batch = 100_000, 4, 64
	var won [n]atomic.Int32
	var failOpen atomic.Int64
	run := uint64(time.Now().UnixNano())
	var wg sync.WaitGroup
	for range 2 {
		s, _ := redisSet(t, srv.Addr(), Options{OpTimeout: 5 * time.Second})
		eventually(t, 10*time.Second, "backend open", s.Healthy)
		for g := range perSet {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := s.NewClaimer()
				ids := make([][32]byte, batch)
				nums := make([]int, batch)
				out := make([]Result, batch)
				// Each goroutine walks all ids from its own offset.
				for i := 0; i < n; i += batch {
					m := min(batch, n-i)
					for j := range m {
						k := (i + j + g*n/perSet) % n
						ids[j], nums[j] = novelID(run, uint64(k)), k
					}
					c.ClaimBatch(context.Background(), ids[:m], out)
					for j, r := range out[:m] {
						switch r {
						case Won:
							won[nums[j]].Add(1)
						case FailOpen:
							failOpen.Add(1)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	if failOpen.Load() != 0 {
		t.Fatalf("%d claims failed open against a healthy Redis", failOpen.Load())
	}
	for k := range won {
		if w := won[k].Load(); w != 1 {
			t.Fatalf("TxID %d won %d times", k, w)
		}
	}
}

// claimLoop claims novel TxIDs in batches of 64 from workers goroutines
// until stop closes, and records the longest ClaimBatch and any result that
// would drop a novel TxID.
type claimLoop struct {
	start   time.Time
	maxAt   atomic.Int64 // when the longest batch started, since start
	maxDur  atomic.Int64
	batches atomic.Int64
	dropped atomic.Int64 // novel TxIDs not forwarded (must stay 0)
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startClaimLoop(s *Set, workers int, run uint64) *claimLoop {
	l := &claimLoop{stop: make(chan struct{}), start: time.Now()}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := s.NewClaimer()
			ids := make([][32]byte, 64)
			out := make([]Result, 64)
			next := uint64(w) << 40
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				for j := range ids {
					ids[j] = novelID(run, next)
					next++
				}
				start := time.Now()
				c.ClaimBatch(context.Background(), ids, out)
				d := int64(time.Since(start))
				for old := l.maxDur.Load(); d > old; old = l.maxDur.Load() {
					if l.maxDur.CompareAndSwap(old, d) {
						l.maxAt.Store(int64(start.Sub(l.start)))
						break
					}
				}
				for _, r := range out {
					if !r.Forward() {
						l.dropped.Add(1)
					}
				}
				l.batches.Add(1)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return l
}

func (l *claimLoop) finish() time.Duration {
	close(l.stop)
	l.wg.Wait()
	return time.Duration(l.maxDur.Load())
}

// Redis killed (or hung) mid-run: no ClaimBatch blocks much longer than
// OpTimeout, every novel TxID is forwarded, and once Redis is back claims
// reach it again without a new Set.
func TestRedisOutageMidRun(t *testing.T) {
	const opTimeout = 50 * time.Millisecond
	// A generous correctness bound (no hang: without the deadline a frozen
	// server holds a claim until it thaws), not a latency target: the race
	// detector and a loaded CI machine deschedule goroutines for hundreds
	// of milliseconds.
	const bound = opTimeout + 2*time.Second
	for _, mode := range []string{"kill", "freeze"} {
		t.Run(mode, func(t *testing.T) {
			srv := redistest.Start(t)
			s, m := redisSet(t, srv.Addr(), Options{OpTimeout: opTimeout,
				ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
			eventually(t, 10*time.Second, "backend open", s.Healthy)
			loop := startClaimLoop(s, 4, uint64(time.Now().UnixNano()))
			eventually(t, 10*time.Second, "claims won", func() bool { return m("won_total") > 1000 })

			t.Logf("outage at %v", time.Since(loop.start))
			if mode == "kill" {
				srv.Kill()
			} else {
				srv.Freeze()
			}
			eventually(t, 10*time.Second, "backend marked down", func() bool { return !s.Healthy() })
			failOpen := m("fail_open_total")
			eventually(t, 10*time.Second, "claims failing open", func() bool { return m("fail_open_total") > failOpen+1000 })
			t.Logf("recovery at %v", time.Since(loop.start))
			if mode == "kill" {
				srv.Restart()
			} else {
				srv.Thaw()
			}
			eventually(t, 20*time.Second, "backend up again", s.Healthy)
			won, trips := m("won_total"), m("backend_round_trips_total")
			eventually(t, 10*time.Second, "claims won after recovery", func() bool {
				return m("won_total") > won+1000 && m("backend_round_trips_total") > trips
			})
			maxDur := loop.finish()
			t.Logf("%s: %d batches, longest ClaimBatch %v at %v (OpTimeout %v), fail_open_total %v",
				mode, loop.batches.Load(), maxDur, time.Duration(loop.maxAt.Load()), opTimeout, m("fail_open_total"))
			if maxDur > bound {
				t.Errorf("a ClaimBatch took %v, bound %v", maxDur, bound)
			}
			if loop.dropped.Load() != 0 {
				t.Errorf("%d novel TxIDs dropped", loop.dropped.Load())
			}
		})
	}
}

// Degraded start against a real Redis: the Set is built while nothing
// listens on the port, works tier 1 only, then uses Redis once it starts.
func TestRedisDegradedStart(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	s, m := redisSet(t, srv.Addr(), Options{OpTimeout: 5 * time.Second,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond})
	if s.Healthy() || s.State() != StateDegraded {
		t.Fatalf("Healthy %v State %q with Redis down", s.Healthy(), s.State())
	}
	if got := claim(t, s, 1, 1); got[0] != FailOpen || got[1] != LocalHit {
		t.Fatalf("degraded results %v", got)
	}
	srv.Restart()
	eventually(t, 10*time.Second, "backend open", s.Healthy)
	if got := claim(t, s, 1, 2); got[0] != LocalHit || got[1] != Won {
		t.Fatalf("results %v after Redis started", got)
	}
	if v, err := srv.Do("EXISTS", key(prefix, 2)); err != nil || v != "1" {
		t.Fatalf("EXISTS %s = %q, %v", key(prefix, 2), v, err)
	}
	if m("backend_up") != 1 || s.State() != StateOK {
		t.Fatalf("State %q", s.State())
	}
}

// TestRedisClaimBatchAllocsNothing: a batch of novel TxIDs, claimed in tier
// 1 and in one Redis round trip, allocates nothing (the proxy's hot path
// with a backend). The backend bounds its own round trips by OpTimeout, so
// no context is derived per batch.
func TestRedisClaimBatchAllocsNothing(t *testing.T) {
	srv := redistest.Start(t)
	s, _ := redisSet(t, srv.Addr(), Options{TTL: time.Minute})
	eventually(t, 10*time.Second, "backend open", s.Healthy)
	c := s.NewClaimer()
	batch := make([][32]byte, 64)
	out := make([]Result, len(batch))
	r, n := uint64(time.Now().UnixNano()), uint64(0)
	claim := func() {
		for j := range batch {
			batch[j] = novelID(r, n)
			n++
		}
		c.ClaimBatch(context.Background(), batch, out)
	}
	claim() // warm up: connection dialled, scratch sized
	if a := testing.AllocsPerRun(50, claim); a != 0 {
		t.Errorf("%v allocations per batch of %d novel TxIDs with Redis", a, len(batch))
	}
	if out[0] != Won {
		t.Fatalf("novel TxID: %v", out[0])
	}
}
