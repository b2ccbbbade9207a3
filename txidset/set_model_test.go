package txidset

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"time"
)

// setModel predicts a Set's answers: tier 1 is the exact per-shard LRU
// model, the backend a map of key to expiry on the same clock.
type setModel struct {
	local   *lruModel
	backend map[[32]byte]int64 // shared by the models of one fleet
}

// claim predicts one ClaimBatch; fail says which TxIDs' backend ops fail.
func (m *setModel) claim(batch [][32]byte, now, backendNow, ttl int64, fail map[[32]byte]bool) []Result {
	out := make([]Result, len(batch))
	var misses []int
	for i, a := range batch {
		if m.local.checkInsert(a, now+int64(i)) {
			out[i] = LocalHit
		} else {
			misses = append(misses, i)
		}
	}
	for _, i := range misses {
		a := batch[i]
		switch exp, ok := m.backend[a]; {
		case fail[a]:
			out[i] = FailOpen
		case ok && exp > backendNow:
			out[i] = Lost
		default:
			m.backend[a] = backendNow + ttl
			out[i] = Won
		}
	}
	return out
}

// Property: two Sets sharing one backend, driven by random batches (with
// duplicates), clock advances past the TTL, evictions at capacity and
// per-op backend failures, answer exactly as the model.
func TestSetMatchesModel(t *testing.T) {
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 7))
		clock := &fakeClock{}
		clock.ns.Store(1_000_000)
		const ttl, maxBatch = 1000, 12
		f := newFake(clock.Now)
		var failing map[[32]byte]bool
		failKeys := map[string]bool{}
		failFn := func(k string) bool { return failKeys[k] }
		f.failKey.Store(&failFn)
		backend := map[[32]byte]int64{}
		var sets [2]*Set
		var models [2]*setModel
		for i := range sets {
			sets[i], _ = newTestSet(t, Options{Capacity: 48, Shards: 4, TTL: ttl, Prefix: prefix,
				Backend: fakeBatcher{f}, Clock: clock.Now, Failures: 1 << 30})
			models[i] = &setModel{local: newLRUModel(sets[i].Local()), backend: backend}
		}
		base := clock.ns.Load()
		var seen [4]int
		for step := range 4000 {
			// Advance by at least a batch (Set stamps a batch's TxIDs 1 ns
			// apart), so no two sightings share a stamp.
			clock.Advance(maxBatch + time.Duration(r.IntN(20)))
			if r.IntN(8) == 0 {
				clock.Advance(time.Duration(r.IntN(2 * ttl)))
			}
			batch := make([][32]byte, 1+r.IntN(maxBatch))
			for j := range batch {
				batch[j] = id(r.Uint64N(120))
			}
			failing = map[[32]byte]bool{}
			clear(failKeys)
			if r.IntN(5) == 0 {
				a := batch[r.IntN(len(batch))]
				failing[a] = true
				failKeys[prefix+hex.EncodeToString(a[:])] = true
			}
			k := r.IntN(2)
			out := make([]Result, len(batch))
			sets[k].ClaimBatch(context.Background(), batch, out)
			now := clock.ns.Load()
			want := models[k].claim(batch, now-base, now, ttl, failing)
			for j := range out {
				if out[j] != want[j] {
					t.Fatalf("seed %d step %d set %d: results %v, model %v", seed, step, k, out, want)
				}
				seen[out[j]]++
			}
		}
		l := sets[0].Local()
		if min(seen[0], seen[1], seen[2], seen[3]) < 50 || l.Evictions() == 0 || l.Expirations() == 0 {
			t.Fatalf("seed %d exercised too little: results %v, evictions %d, expirations %d",
				seed, seen, l.Evictions(), l.Expirations())
		}
	}
}
