package proxy

import (
	"sync"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

func TestFlowTableSeqNums(t *testing.T) {
	src := frame.SourceID(testSource)
	ft := newFlowTable(src, 1000, 1e12)
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
	ft := newFlowTable(frame.SourceID(testSource), 1<<16, 1e12)
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
	ft := newFlowTable(frame.SourceID(testSource), 1, 1e12) // one shard, one flow
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

	ft = newFlowTable(frame.SourceID(testSource), 3*64, 1e12)
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
	ft := newFlowTable(frame.SourceID(testSource), 1000, 1e12)
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

// TestFlowTableResumesEvictedFlows: a flow the cap evicted and that comes
// back within -flow-idle of its last use continues its SeqNums (no
// HashKey‖SeqNum is used twice); after -flow-idle it starts over at 1.
func TestFlowTableResumesEvictedFlows(t *testing.T) {
	const idle = 1000
	ft := newFlowTable(frame.SourceID(testSource), 2, idle) // one shard of 2 flows, 2 tombs
	a, b, c := [32]byte{1}, [32]byte{2}, [32]byte{3}
	for range 3 {
		ft.reserve(0, &a, 1, 10) // a: 1, 2, 3
	}
	ft.reserve(0, &b, 1, 20)
	ft.reserve(0, &c, 1, 30) // evicts a (least recently used)
	if ft.evicted.Load() != 1 {
		t.Fatalf("evicted %d", ft.evicted.Load())
	}
	hk, s := ft.reserve(0, &a, 2, 40) // back: evicts b, resumes a
	if s != 4 || hk != frame.HashKey(frame.SourceID(testSource), 0, a) {
		t.Fatalf("resumed flow: first SeqNum %d (want 4), HashKey %x", s, hk)
	}
	if _, s := ft.reserve(0, &a, 1, 41); s != 6 {
		t.Fatalf("after a reservation of 2: %d, want 6", s)
	}
	if ft.resumed.Load() != 1 {
		t.Fatalf("resumed %d, want 1", ft.resumed.Load())
	}
	// b was evicted at its last use 20; back after more than idle: a
	// listener's window and an endpoint's cache have let go, start over.
	if _, s := ft.reserve(0, &b, 1, 20+idle+1); s != 1 {
		t.Fatalf("flow back after -flow-idle: SeqNum %d, want 1", s)
	}
	if ft.resumed.Load() != 1 {
		t.Fatalf("resumed %d after a void tomb, want 1", ft.resumed.Load())
	}
}

// TestFlowTableTombsBounded: a shard keeps at most its flow cap of tombs,
// forgetting the oldest first, and a flow buried, resumed and buried again
// keeps its newest tomb when the ring comes round to the old slot.
func TestFlowTableTombsBounded(t *testing.T) {
	ft := newFlowTable(frame.SourceID(testSource), 2, 1e12)
	sub := func(i int) *[32]byte { return &[32]byte{byte(i), byte(i >> 8)} }
	for i := range 50 { // 48 evictions through a shard of 2 flows
		for range i%3 + 1 {
			ft.reserve(0, sub(i), 1, int64(i))
		}
	}
	s := &ft.shards[0]
	if s.tombs.n != 2 || len(s.tombs.at) != 2 {
		t.Fatalf("tombs held %d, indexed %d, want 2 each", s.tombs.n, len(s.tombs.at))
	}
	// Flows 46 and 47 have tombs, 45 was forgotten. Creating a flow evicts
	// one more (48, then 47's replacement), forgetting the oldest tomb.
	if _, seq := ft.reserve(0, sub(47), 1, 100); seq != 47%3+2 {
		t.Fatalf("kept flow: SeqNum %d, want %d", seq, 47%3+2)
	}
	if _, seq := ft.reserve(0, sub(45), 1, 101); seq != 1 {
		t.Fatalf("forgotten flow: SeqNum %d, want 1", seq)
	}

	// Bury x, resume it, bury it again while its first (void) tomb is still
	// in the ring; when the ring comes round to that first slot, x's second
	// tomb must survive.
	ft = newFlowTable(frame.SourceID(testSource), 3, 1e12) // one shard, 3 flows, 3 tombs
	x, a, b, c, d, e := sub(1000), sub(1), sub(2), sub(3), sub(4), sub(5)
	ft.reserve(0, x, 1, 1)
	ft.reserve(0, a, 1, 2)
	ft.reserve(0, b, 1, 3)
	ft.reserve(0, c, 1, 4)                          // evicts x: tomb in slot 0 (next 2)
	if _, seq := ft.reserve(0, x, 1, 5); seq != 2 { // evicts a (slot 1), resumes x
		t.Fatalf("x resumed at %d, want 2", seq)
	}
	ft.reserve(0, b, 1, 6)
	ft.reserve(0, c, 1, 7)
	ft.reserve(0, d, 1, 8) // evicts x again: tomb in slot 2 (next 3)
	ft.reserve(0, e, 1, 9) // evicts b: the ring forgets slot 0, x's void tomb
	if _, seq := ft.reserve(0, x, 1, 10); seq != 3 {
		t.Fatalf("x after its second eviction: SeqNum %d, want 3", seq)
	}
}
