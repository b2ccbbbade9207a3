package txidset

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// tier1 is what the benchmarks drive: Local, or the hashicorp alternative.
type tier1 interface {
	CheckInsert(id *[32]byte, now int64) bool
}

// hashicorpSet is the alternative we measured Local against: the same
// sharding (seeded hash, one mutex per shard) around hashicorp's
// simplelru.LRU[[32]byte, int64] holding each TxID's expiry. A hit needs
// Get (recency) then Add (new expiry); an insert allocates a list element.
type hashicorpSet struct {
	seed   [4]uint64
	shift  uint
	ttl    int64
	shards []hcShard
}

type hcShard struct {
	mu  sync.Mutex // guards lru
	lru *simplelru.LRU[[32]byte, int64]
	_   [48]byte
}

func newHashicorpSet(tb testing.TB, capacity int, ttl time.Duration) *hashicorpSet {
	l := mustLocal(tb, capacity, 0, ttl) // same shard count and seed scheme
	h := &hashicorpSet{seed: l.seed, shift: l.shardShift, ttl: int64(ttl), shards: make([]hcShard, len(l.shards))}
	for i := range h.shards {
		c, err := simplelru.NewLRU[[32]byte, int64](int(l.shards[i].cap), nil)
		if err != nil {
			tb.Fatal(err)
		}
		h.shards[i].lru = c
	}
	return h
}

func (h *hashicorpSet) CheckInsert(id *[32]byte, now int64) bool {
	w := words(id)
	s := &h.shards[hashWords(&w, &h.seed)>>h.shift]
	s.mu.Lock()
	exp, ok := s.lru.Get(*id)
	hit := ok && exp > now
	s.lru.Add(*id, now+h.ttl)
	s.mu.Unlock()
	return hit
}

const benchCap = 1 << 20

type tier1Impl struct {
	name string
	new  func(testing.TB, int) tier1
}

var tier1Impls = []tier1Impl{
	{"table", func(tb testing.TB, c int) tier1 { return mustLocal(tb, c, 0, time.Hour) }},
	{"hashicorp", func(tb testing.TB, c int) tier1 { return newHashicorpSet(tb, c, time.Hour) }},
}

// benchIDs returns n distinct TxIDs.
func benchIDs(n int) [][32]byte {
	ids := make([][32]byte, n)
	for i := range ids {
		ids[i] = id(uint64(i))
	}
	return ids
}

// BenchmarkTier1Hit: every lookup is a hit on a 1,048,576-capacity set.
// "hot" cycles over 4,096 ids (cache-resident, a burst of duplicates);
// "full" cycles over 1,000,000 ids (every lookup misses the CPU caches).
func BenchmarkTier1Hit(b *testing.B) {
	for _, impl := range tier1Impls {
		for _, ws := range []struct {
			name string
			n    int
		}{{"hot", 4096}, {"full", 1_000_000}} {
			b.Run(impl.name+"/"+ws.name, func(b *testing.B) {
				s, ids := filledTier1(b, impl, ws.n)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if !s.CheckInsert(&ids[i], 1) {
						b.Fatal("miss")
					}
					if i++; i == len(ids) {
						i = 0
					}
				}
			})
		}
	}
}

// filledTier1 returns a benchCap set of impl holding n ids, and the ids.
func filledTier1(b *testing.B, impl tier1Impl, n int) (tier1, [][32]byte) {
	s := impl.new(b, benchCap)
	ids := benchIDs(n)
	for i := range ids {
		s.CheckInsert(&ids[i], int64(i)) // distinct times, as a stream has
	}
	return s, ids
}

// BenchmarkTier1HitParallel is BenchmarkTier1Hit/hot from GOMAXPROCS
// goroutines, each with its own 4,096 ids as receive loops serving
// different streams would be (run with -cpu 1,2 to see the scaling).
func BenchmarkTier1HitParallel(b *testing.B) {
	const perG = 4096
	for _, impl := range tier1Impls {
		b.Run(impl.name, func(b *testing.B) {
			s, ids := filledTier1(b, impl, perG*runtime.GOMAXPROCS(0))
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				g := int(next.Add(1)-1) % runtime.GOMAXPROCS(0)
				mine := ids[g*perG : (g+1)*perG]
				i := 0
				for pb.Next() {
					s.CheckInsert(&mine[i], 1)
					if i++; i == perG {
						i = 0
					}
				}
			})
		})
	}
}

// BenchmarkTier1Miss inserts novel ids into a full 1,048,576-entry set:
// every call evicts the shard's least recently seen entry. The clock
// advances a nanosecond per call, as it does in a real stream (with one
// constant time every stamp ties and recency bookkeeping looks free).
func BenchmarkTier1Miss(b *testing.B) {
	for _, impl := range tier1Impls {
		b.Run(impl.name, func(b *testing.B) {
			s, _ := filledTier1(b, impl, benchCap)
			n := uint64(benchCap)
			a := new([32]byte) // reused: the interface call would move a local to the heap
			b.ReportAllocs()
			for b.Loop() {
				*a = id(n)
				n++
				if s.CheckInsert(a, int64(n)) {
					b.Fatal("hit")
				}
			}
		})
	}
}

// BenchmarkTier1MissParallel is BenchmarkTier1Miss from GOMAXPROCS goroutines.
func BenchmarkTier1MissParallel(b *testing.B) {
	for _, impl := range tier1Impls {
		b.Run(impl.name, func(b *testing.B) {
			s, _ := filledTier1(b, impl, benchCap)
			var next atomic.Uint64
			var clock atomic.Int64 // shared, as goroutines of one process share time
			clock.Store(benchCap)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				n := next.Add(1) << 40
				a := new([32]byte)
				for pb.Next() {
					*a = id(n)
					n++
					s.CheckInsert(a, clock.Add(1))
				}
			})
		})
	}
}

// BenchmarkTier1Churn is a duplicate-heavy stream on a full
// 1,048,576-entry set: each op inserts a novel id and sights again the id
// inserted 1,000 ops earlier (a hit), so every entry is re-stamped once
// before it ages out. Per op: one eviction and one hit.
func BenchmarkTier1Churn(b *testing.B) {
	const lag = 1000
	for _, impl := range tier1Impls {
		b.Run(impl.name, func(b *testing.B) {
			s, _ := filledTier1(b, impl, benchCap)
			n := uint64(benchCap)
			a := new([32]byte)
			b.ReportAllocs()
			for b.Loop() {
				*a = id(n)
				s.CheckInsert(a, int64(n))
				*a = id(n - lag)
				if !s.CheckInsert(a, int64(n)) {
					b.Fatal("miss")
				}
				n++
			}
		})
	}
}

// BenchmarkMutexFloor locks and unlocks a goroutine-private mutex: the cost
// of the one lock round per ID that tier 1 pays, and how far uncontended
// atomics scale on the machine (compare -cpu 1 and 2 with the Parallel
// benchmarks above).
func BenchmarkMutexFloor(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		var mu sync.Mutex
		for pb.Next() {
			mu.Lock()
			mu.Unlock() //nolint:staticcheck // an empty critical section is the point
		}
	})
}
