package txidset

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// lruModel is the reference semantics of Local: per shard (the same shard
// function), an exact LRU list of at most the shard's capacity, each entry
// alive until its last sighting plus TTL. It is deliberately naive.
type lruModel struct {
	l      *Local                // only for the shard function and capacities
	order  map[*shard][][32]byte // most recent first
	expiry map[[32]byte]int64
}

func newLRUModel(l *Local) *lruModel {
	return &lruModel{l: l, order: map[*shard][][32]byte{}, expiry: map[[32]byte]int64{}}
}

func (m *lruModel) contains(a [32]byte, now int64) bool {
	exp, ok := m.expiry[a]
	return ok && exp > now
}

func (m *lruModel) checkInsert(a [32]byte, now int64) bool {
	w := words(&a)
	s, _ := m.l.shardFor(&w)
	hit := m.contains(a, now)
	list := m.order[s]
	if _, ok := m.expiry[a]; ok {
		list = slices.DeleteFunc(list, func(b [32]byte) bool { return b == a })
	} else {
		// Drop expired entries, then the least recently seen if still full.
		list = slices.DeleteFunc(list, func(b [32]byte) bool {
			if m.expiry[b] <= now {
				delete(m.expiry, b)
				return true
			}
			return false
		})
		if len(list) == int(s.cap) {
			delete(m.expiry, list[len(list)-1])
			list = list[:len(list)-1]
		}
	}
	m.expiry[a] = now + m.l.ttl
	m.order[s] = slices.Insert(list, 0, a)
	return hit
}

// Property: for random sequences of sightings and clock advances, Local
// answers exactly as the model, including after evictions and expiries.
func TestLocalMatchesModel(t *testing.T) {
	for _, tc := range []struct {
		name             string
		capacity, shards int
		universe         uint64
	}{
		{"one shard", 64, 1, 150},
		{"eight shards", 256, 8, 600},
		{"tiny shards", 16, 8, 40},
		{"no eviction", 512, 4, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(5) {
				r := rand.New(rand.NewPCG(seed, 99))
				const ttl = 1000
				l := mustLocal(t, tc.capacity, tc.shards, ttl)
				m := newLRUModel(l)
				now := int64(0)
				for step := range 30000 {
					a := id(r.Uint64N(tc.universe))
					switch r.IntN(10) {
					case 0:
						now += int64(r.IntN(3 * ttl)) // may expire everything
					case 1:
						if got, want := l.Contains(&a, now), m.contains(a, now); got != want {
							t.Fatalf("seed %d step %d: Contains = %v, model %v", seed, step, got, want)
						}
						continue
					}
					now += 1 + int64(r.IntN(5)) // distinct times: equal stamps evict in any order
					if got, want := l.CheckInsert(&a, now), m.checkInsert(a, now); got != want {
						t.Fatalf("seed %d step %d: CheckInsert = %v, model %v", seed, step, got, want)
					}
				}
				checkLocal(t, l)
			}
		})
	}
}
