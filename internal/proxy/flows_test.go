package proxy

import (
	"sync"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

func TestFlowTableSeqNums(t *testing.T) {
	src := frame.SourceID(testSource)
	ft := newFlowTable(src, 1000)
	sub := [32]byte{1: 1}
	for want := uint64(1); want <= 5; want++ {
		hk, seq := ft.reserve(3, &sub, 1, 0)
		if hk != frame.HashKey(src, 3, sub) || seq != want {
			t.Fatalf("reserve: hk %x seq %d, want seq %d", hk, seq, want)
		}
	}
	if _, first := ft.reserve(3, &sub, 10, 0); first != 6 {
		t.Fatalf("reserve 10: first %d", first)
	}
	if _, next := ft.reserve(3, &sub, 1, 0); next != 16 {
		t.Fatalf("after a reservation of 10: %d", next)
	}
	if _, s := ft.reserve(4, &sub, 1, 0); s != 1 {
		t.Fatalf("another group starts at %d", s)
	}
	if _, s := ft.reserve(3, &[32]byte{}, 1, 0); s != 1 {
		t.Fatalf("another subtree starts at %d", s)
	}
	if ft.len() != 3 {
		t.Fatalf("len %d", ft.len())
	}
}

func TestFlowTableConcurrentNoGapNoRepeat(t *testing.T) {
	ft := newFlowTable(frame.SourceID(testSource), 1<<16)
	const goroutines, per = 8, 5000
	seen := make([][]uint64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				n := uint64(1 + i%3)
				_, first := ft.reserve(7, &[32]byte{}, n, int64(i))
				for k := range n {
					seen[g] = append(seen[g], first+k)
				}
			}
		}()
	}
	wg.Wait()
	got := map[uint64]bool{}
	total := 0
	for _, s := range seen {
		for _, v := range s {
			if got[v] {
				t.Fatalf("SeqNum %d handed out twice", v)
			}
			got[v] = true
			total++
		}
	}
	for v := uint64(1); v <= uint64(total); v++ {
		if !got[v] {
			t.Fatalf("gap at %d of %d", v, total)
		}
	}
}

func TestFlowTableEvictsLeastRecentlyUsed(t *testing.T) {
	ft := newFlowTable(frame.SourceID(testSource), 1) // one shard, one flow
	if len(ft.shards) != 1 || ft.perShard != 1 {
		t.Fatalf("shards %d per shard %d", len(ft.shards), ft.perShard)
	}
	ft.reserve(1, &[32]byte{}, 1, 1)
	ft.reserve(1, &[32]byte{}, 1, 2)
	ft.reserve(2, &[32]byte{}, 1, 3) // evicts flow 1
	if ft.evicted.Load() != 1 || ft.len() != 1 {
		t.Fatalf("evicted %d len %d", ft.evicted.Load(), ft.len())
	}
	if _, s := ft.reserve(1, &[32]byte{}, 1, 4); s != 1 {
		t.Fatalf("a re-created flow starts at %d, want 1", s)
	}

	ft = newFlowTable(frame.SourceID(testSource), 3*64)
	for idx := range uint32(3 * 64 * 4) { // 4× the cap, touching group 0 all along
		ft.reserve(idx, &[32]byte{}, 1, int64(idx))
		ft.reserve(0, &[32]byte{}, 1, int64(idx))
	}
	if ft.len() > 3*64 {
		t.Fatalf("table holds %d flows above its cap", ft.len())
	}
	if _, s := ft.reserve(0, &[32]byte{}, 1, 1e9); s == 1 {
		t.Fatal("the most recently used flow was evicted")
	}
}

func TestFlowTableExpiresIdleFlows(t *testing.T) {
	ft := newFlowTable(frame.SourceID(testSource), 1000)
	for idx := range uint32(10) {
		ft.reserve(idx, &[32]byte{}, 1, int64(idx)*100)
	}
	if n := ft.expire(500); n != 5 {
		t.Fatalf("expired %d, want 5", n)
	}
	if ft.len() != 5 || ft.expired.Load() != 5 {
		t.Fatalf("len %d expired %d", ft.len(), ft.expired.Load())
	}
	if _, s := ft.reserve(9, &[32]byte{}, 1, 2000); s != 2 {
		t.Fatalf("a live flow lost its state: seq %d", s)
	}
	if _, s := ft.reserve(0, &[32]byte{}, 1, 2000); s != 1 {
		t.Fatalf("an expired flow did not restart: seq %d", s)
	}
}
