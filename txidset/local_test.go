package txidset

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// id returns a TxID whose bytes derive from n (distinct n, distinct ids).
func id(n uint64) [32]byte {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], n*0x9e3779b97f4a7c15)
	binary.LittleEndian.PutUint64(b[8:], n)
	binary.LittleEndian.PutUint64(b[16:], ^n)
	binary.LittleEndian.PutUint64(b[24:], bits.RotateLeft64(n, 29))
	return b
}

func mustLocal(t testing.TB, capacity, shards int, ttl time.Duration) *Local {
	t.Helper()
	l, err := NewLocal(LocalOptions{Capacity: capacity, Shards: shards, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalCheckInsert(t *testing.T) {
	l := mustLocal(t, 1024, 0, time.Second)
	a, b := id(1), id(2)
	if l.CheckInsert(&a, 0) {
		t.Fatal("first sighting was a hit")
	}
	if !l.CheckInsert(&a, 1) {
		t.Fatal("second sighting was a miss")
	}
	if l.Contains(&b, 1) {
		t.Fatal("Contains of an absent id")
	}
	if !l.Contains(&a, 1) || l.Len() != 1 {
		t.Fatalf("Contains=false or Len=%d, want 1", l.Len())
	}
}

// A hit extends the expiry to now+TTL: TTL runs from the last sighting.
func TestLocalExpiry(t *testing.T) {
	const ttl = int64(time.Second)
	l := mustLocal(t, 64, 1, time.Second)
	a := id(7)
	l.CheckInsert(&a, 0)
	if !l.CheckInsert(&a, ttl-1) {
		t.Fatal("miss before expiry")
	}
	// Refreshed at ttl-1: alive until 2*ttl-1.
	if !l.Contains(&a, 2*ttl-2) {
		t.Fatal("hit did not extend the expiry")
	}
	if l.Contains(&a, 2*ttl-1) {
		t.Fatal("alive at its expiry")
	}
	if l.CheckInsert(&a, 2*ttl-1) {
		t.Fatal("expired id was a hit")
	}
	if !l.CheckInsert(&a, 2*ttl) {
		t.Fatal("re-inserted id was a miss")
	}
	if l.Expirations() != 1 {
		t.Fatalf("Expirations = %d, want 1", l.Expirations())
	}
}

// Expired entries are reclaimed by later inserts, so Len tracks live ids.
func TestLocalReclaimsExpired(t *testing.T) {
	l := mustLocal(t, 256, 1, time.Second)
	for i := range uint64(200) {
		a := id(i)
		l.CheckInsert(&a, 0)
	}
	now := int64(2 * time.Second)
	for i := range uint64(200) {
		a := id(1000 + i)
		l.CheckInsert(&a, now)
	}
	if l.Len() != 200 || l.Evictions() != 0 || l.Expirations() != 200 {
		t.Fatalf("Len=%d Evictions=%d Expirations=%d, want 200, 0, 200", l.Len(), l.Evictions(), l.Expirations())
	}
}

// Eviction is LRU, not FIFO: a touched id survives, the oldest untouched one goes.
func TestLocalEvictsLeastRecentlySeen(t *testing.T) {
	l := mustLocal(t, 4, 1, time.Hour)
	ids := [5][32]byte{id(0), id(1), id(2), id(3), id(4)}
	for i := range 4 {
		l.CheckInsert(&ids[i], int64(i))
	}
	l.CheckInsert(&ids[0], 10) // touch the oldest
	l.CheckInsert(&ids[4], 11) // evicts ids[1]
	for i, want := range []bool{true, false, true, true, true} {
		if got := l.Contains(&ids[i], 12); got != want {
			t.Errorf("id %d present=%v, want %v", i, got, want)
		}
	}
	if l.Evictions() != 1 {
		t.Fatalf("Evictions = %d, want 1", l.Evictions())
	}
}

func TestShardCount(t *testing.T) {
	for _, tc := range []struct {
		capacity, want, procs, n int
	}{
		{1 << 20, 0, 2, 64},
		{1 << 20, 0, 8, 128},
		{1 << 20, 0, 64, 256},
		{100, 0, 2, 1},
		{1000, 0, 2, 8},
		{1 << 24, 0, 2, 512}, // 32768 per shard at most
		{1 << 20, 5, 2, 32},  // 5 rounds up to 8, then doubles until shards fit MaxShardEntries
		{1 << 20, 100, 2, 128},
		{4, 4, 2, 4},
	} {
		n, err := shardCount(tc.capacity, tc.want, tc.procs)
		if err != nil || n != tc.n {
			t.Errorf("shardCount(%d, %d, %d) = %d, %v; want %d", tc.capacity, tc.want, tc.procs, n, err, tc.n)
		}
	}
	if _, err := shardCount(3, 8, 2); !errors.Is(err, ErrCapacity) {
		t.Errorf("more shards than entries: err = %v", err)
	}
	for _, o := range []LocalOptions{{Capacity: 0, TTL: 1}, {Capacity: MaxCapacity + 1, TTL: 1}, {Capacity: 1}} {
		if _, err := NewLocal(o); !errors.Is(err, ErrCapacity) {
			t.Errorf("NewLocal(%+v) err = %v, want ErrCapacity", o, err)
		}
	}
}

// Every shard capacity must leave room in a uint32 slot for the entry index
// and a tag that contains the home slot.
func TestShardSlotBits(t *testing.T) {
	for c := uint32(1); c <= MaxShardEntries; c++ {
		slots, idxBits := shardGeometry(c)
		if load := float64(c) / float64(slots); load > 0.75 {
			t.Fatalf("cap %d: load %.2f", c, load)
		}
		if c>>idxBits != 0 || c>>(idxBits-1) == 0 {
			t.Fatalf("cap %d: %d index bits", c, idxBits)
		}
		if slotBits := uint32(bits.Len32(slots - 1)); idxBits+slotBits > 32 {
			t.Fatalf("cap %d: %d index bits + %d slot bits > 32", c, idxBits, slotBits)
		}
	}
	if got := unsafe.Sizeof(entry{}); got != 40 {
		t.Errorf("entry is %d bytes, want 40", got)
	}
	if got := unsafe.Sizeof(shard{}); got%64 != 0 {
		t.Errorf("shard is %d bytes, not a multiple of a cache line", got)
	}
}

// checkShard verifies that the recency ring and heap, the index and the
// entries agree.
func checkShard(t *testing.T, s *shard) {
	t.Helper()
	if s.ver.Load()&1 != 0 {
		t.Fatal("seqlock left odd")
	}
	held := map[uint32]bool{}
	hold := func(where string, k int, i uint32, stamp int64) {
		if held[i] || i == 0 || i > s.used {
			t.Fatalf("%s slot %d holds entry %d (used %d, duplicate %v)", where, k, i, s.used, held[i])
		}
		held[i] = true
		if stamp > s.entries[i].exp.Load() {
			t.Fatalf("entry %d stamped %d after its expiry %d", i, stamp, s.entries[i].exp.Load())
		}
	}
	r, h := &s.rec.ring, &s.rec.heap
	for k := range r.n {
		p := r.at(k)
		hold("ring", int(k), r.idx[p], r.stamp[p])
		if k > 0 && r.stamp[r.at(k-1)] > r.stamp[p] {
			t.Fatalf("ring order broken at %d", k)
		}
		if k == r.n-1 && r.stamp[p] != r.last {
			t.Fatalf("ring tail stamped %d, last %d", r.stamp[p], r.last)
		}
	}
	for k := range h.n {
		hold("heap", k, h.idx[k], h.stamp[k])
		if p := (k - 1) / arity; k > 0 && h.stamp[p] > h.stamp[k] {
			t.Fatalf("heap order broken at %d", k)
		}
	}
	slots := 0
	for _, v := range s.index {
		if v != 0 {
			slots++
		}
	}
	if slots != len(held) {
		t.Fatalf("index holds %d slots, recency %d entries", slots, len(held))
	}
	for i := range held {
		w := s.entries[i].key
		h := hashWords(&w, &s.seed)
		if _, got := s.findLocked(&w, h); got != i {
			t.Fatalf("entry %d not reachable from its home slot (found %d)", i, got)
		}
	}
}

// checkLocal runs checkShard on every shard of l, keeping l (and so its
// arena) alive throughout.
func checkLocal(t *testing.T, l *Local) {
	t.Helper()
	for i := range l.shards {
		checkShard(t, &l.shards[i])
	}
	runtime.KeepAlive(l)
}

// Random churn with eviction and expiry keeps the table consistent
// (backward-shift deletion leaves every key reachable).
func TestLocalChurnConsistency(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	l := mustLocal(t, 500, 2, time.Duration(100))
	now := int64(0)
	for range 200000 {
		a := id(r.Uint64N(2000))
		l.CheckInsert(&a, now)
		now += int64(r.IntN(3))
	}
	checkLocal(t, l)
}

// One-step check-and-insert allocates nothing, hit or miss.
func TestLocalNoAllocs(t *testing.T) {
	l := mustLocal(t, 1024, 0, time.Hour)
	a, n := id(1), uint64(10)
	if got := testing.AllocsPerRun(1000, func() {
		l.CheckInsert(&a, 1)
		b := id(n)
		n++
		l.CheckInsert(&b, 1)
	}); got != 0 {
		t.Fatalf("CheckInsert allocates %.1f per call", got)
	}
}

// 1,048,576 entries must fit in 64 MiB; measured with runtime.MemStats and
// the size of the off-heap arena.
func TestLocalMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~56 MiB")
	}
	const n = 1 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := mustLocal(t, n, 0, time.Hour)
	for i := range uint64(n) {
		a := id(i)
		l.CheckInsert(&a, 0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Capacity is split evenly across shards, so the fullest shards start
	// evicting just before the whole set is full (here ~0.3% of n).
	if l.Len() < n*99/100 {
		t.Fatalf("Len = %d after %d inserts", l.Len(), n)
	}
	// Go heap plus the off-heap arena (local_arena.go), counted whole:
	// with huge pages every byte of it is resident.
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	used := heap + int64(l.arena.bytes)
	t.Logf("capacity %d in %d shards (%d held, %d evicted): %.1f MiB (%.1f MiB arena, huge pages %v), %.1f bytes/entry",
		n, l.Shards(), l.Len(), l.Evictions(), float64(used)/(1<<20), float64(l.arena.bytes)/(1<<20),
		l.arena.huge, float64(used)/n)
	if used > 64<<20 {
		t.Fatalf("%d bytes for %d entries, want <= 64 MiB", used, n)
	}
	runtime.KeepAlive(l)
}

// Concurrent hits, inserts, evictions and expiries (the lock-free hit path
// racing writers) leave every shard consistent, and without eviction each
// TxID misses exactly once however many goroutines see it.
func TestLocalConcurrentStress(t *testing.T) {
	const workers, ops = 8, 20000
	t.Run("churn", func(t *testing.T) {
		l := mustLocal(t, 256, 4, time.Duration(5000))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 3))
				for k := range ops {
					a := id(r.Uint64N(600))
					if k%7 == 0 {
						l.Contains(&a, int64(k))
					} else {
						l.CheckInsert(&a, int64(k))
					}
				}
			}()
		}
		wg.Wait()
		checkLocal(t, l)
	})
	t.Run("one miss per id", func(t *testing.T) {
		const n = 4000
		l := mustLocal(t, 2*n, 0, time.Hour)
		var misses [n]atomic.Int32
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range n {
					j := (k + w*n/workers) % n
					a := id(uint64(j))
					if !l.CheckInsert(&a, 1) {
						misses[j].Add(1)
					}
				}
			}()
		}
		wg.Wait()
		for j := range misses {
			if m := misses[j].Load(); m != 1 {
				t.Fatalf("id %d missed %d times", j, m)
			}
		}
	})
}
