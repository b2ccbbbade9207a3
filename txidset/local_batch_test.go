package txidset

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// sameSeed makes b hash (and so shard and probe) exactly as a; both must
// still be empty.
func sameSeed(a, b *Local) {
	b.seed = a.seed
	for i := range b.shards {
		b.shards[i].seed = a.seed
	}
}

// Property: CheckInsertBatch answers exactly as a loop of CheckInsert at
// now+k, with and without its loading pass, on random batches with
// duplicates inside a batch, clock jumps past the TTL and evictions.
func TestCheckInsertBatchMatchesLoop(t *testing.T) {
	for _, tc := range []struct {
		name             string
		capacity, shards int
		universe         uint64
		jumpEvery        int // steps between clock jumps past the TTL, on average
	}{
		{"one shard", 64, 1, 150, 20},
		{"eight shards", 512, 8, 1500, 20},
		// Off-heap unless -race; rare jumps, and a universe large enough
		// that the ~80,000 TxIDs drawn per TTL hold more distinct ones
		// (~69,000) than the capacity: the set fills and evicts whatever
		// the random hash seed (1 << 17 gave ~60,000 and evicted only on
		// an unlucky shard balance).
		{"arena", 1 << 16, 0, 1 << 18, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const ttl = 100_000
			loop := mustLocal(t, tc.capacity, tc.shards, ttl)
			batched := mustLocal(t, tc.capacity, tc.shards, ttl)
			plain := mustLocal(t, tc.capacity, tc.shards, ttl)
			sameSeed(loop, batched)
			sameSeed(loop, plain)
			plain.noPrefetch = true
			r := rand.New(rand.NewPCG(uint64(tc.capacity), 5))
			ids := make([][32]byte, 200)
			got, gotPlain := make([]bool, len(ids)), make([]bool, len(ids))
			now, hits := int64(0), 0
			for step := range 3000 {
				ids = ids[:1+r.IntN(cap(ids))] // chunks of 64 and a remainder
				for k := range ids {
					ids[k] = id(r.Uint64N(tc.universe))
				}
				now += int64(len(ids)) + int64(r.IntN(50))
				if r.IntN(tc.jumpEvery) == 0 {
					now += int64(r.IntN(2 * ttl))
				}
				batched.CheckInsertBatch(ids, now, got)
				plain.CheckInsertBatch(ids, now, gotPlain)
				for k := range ids {
					want := loop.CheckInsert(&ids[k], now+int64(k))
					if got[k] != want || gotPlain[k] != want {
						t.Fatalf("step %d id %d: batch %v, without pass %v, loop %v", step, k, got[k], gotPlain[k], want)
					}
					if want {
						hits++
					}
				}
			}
			if hits == 0 || loop.Evictions() == 0 || loop.Expirations() == 0 {
				t.Fatalf("exercised too little: %d hits, %d evictions, %d expirations",
					hits, loop.Evictions(), loop.Expirations())
			}
			checkLocal(t, batched)
			checkLocal(t, plain)
		})
	}
}

// ClaimBatch gives identical results with and without the loading pass
// (two Sets with one seed, one with the pass off, fed the same batches).
func TestClaimBatchPrePassEquivalence(t *testing.T) {
	clock := &fakeClock{}
	var sets [2]*Set
	for i := range sets {
		sets[i], _ = newTestSet(t, Options{Capacity: 1 << 15, TTL: time.Millisecond, Clock: clock.Now})
	}
	sameSeed(sets[0].Local(), sets[1].Local())
	sets[1].Local().noPrefetch = true
	r := rand.New(rand.NewPCG(3, 4))
	batch := make([][32]byte, 64)
	var out [2][64]Result
	seen := map[Result]int{}
	for step := range 5000 {
		clock.Advance(time.Duration(64 + r.IntN(500)))
		batch = batch[:1+r.IntN(64)]
		for k := range batch {
			batch[k] = id(r.Uint64N(1 << 16))
		}
		for i, s := range sets {
			s.ClaimBatch(context.Background(), batch, out[i][:])
		}
		for k := range batch {
			if out[0][k] != out[1][k] {
				t.Fatalf("step %d id %d: %v with the pass, %v without", step, k, out[0][k], out[1][k])
			}
			seen[out[0][k]]++
		}
	}
	if seen[Won] == 0 || seen[LocalHit] == 0 {
		t.Fatalf("exercised too little: %v", seen)
	}
}

// The batch path allocates nothing, hits and misses alike.
func TestCheckInsertBatchNoAllocs(t *testing.T) {
	l := mustLocal(t, 1024, 0, time.Hour)
	ids := make([][32]byte, 100)
	hit := make([]bool, len(ids))
	n := uint64(0)
	if got := testing.AllocsPerRun(100, func() {
		for k := range ids {
			ids[k] = id(n % 3000)
			n++
		}
		l.CheckInsertBatch(ids, int64(n), hit)
	}); got != 0 {
		t.Fatalf("CheckInsertBatch allocates %.1f per call", got)
	}
}
