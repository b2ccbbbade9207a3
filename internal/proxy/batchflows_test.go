package proxy

import (
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

// TestBatchFlowsNumbering feeds batches of frames over many flows (more than
// the index's home slots could hold without collisions) through batchFlows
// and checks what stamping would write: per flow, SeqNums consecutive from
// 1 across batches in batch order, fragments taking one each, the flow's
// HashKey, and a clean slate after reset.
func TestBatchFlowsNumbering(t *testing.T) {
	src := frame.SourceID(testSource)
	ft := newFlowTable(src, 1<<12, 1e12)
	const batch = 64
	b := newBatchFlows(batch)
	next := map[flowKey]uint64{}
	for round := range 50 {
		type frameOf struct {
			key  flowKey
			n    uint64
			slot int16
		}
		frames := make([]frameOf, batch)
		for i := range frames {
			// Up to batch distinct flows per batch, some sharing idx,
			// some sharing the subtree, some fragmented.
			k := flowKey{idx: uint32((i*7 + round) % 40)}
			k.subtree[0] = byte((i + round) % 3)
			k.subtree[31] = byte(i % 2)
			n := uint64(1)
			if i%9 == 0 {
				n = uint64(1 + i%4)
			}
			frames[i] = frameOf{key: k, n: n, slot: b.add(k.idx, &k.subtree, n)}
		}
		if len(b.flows) > batch {
			t.Fatalf("round %d: %d flows for %d frames", round, len(b.flows), batch)
		}
		b.reserve(ft, int64(round))
		for i, f := range frames {
			hk, first := b.take(f.slot, f.n)
			if want := frame.HashKey(src, f.key.idx, f.key.subtree); hk != want {
				t.Fatalf("round %d frame %d: HashKey %x, want %x", round, i, hk, want)
			}
			if want := next[f.key] + 1; first != want {
				t.Fatalf("round %d frame %d (%v): first SeqNum %d, want %d", round, i, f.key.idx, first, want)
			}
			next[f.key] += f.n
		}
		for i := range b.flows {
			if f := &b.flows[i]; f.next != next[f.key]+1 {
				t.Fatalf("round %d: flow %d reserved up to %d, stamped up to %d", round, i, f.next-1, next[f.key])
			}
		}
		b.reset()
		if len(b.flows) != 0 {
			t.Fatalf("reset left %d flows", len(b.flows))
		}
		for j, v := range b.index {
			if v != 0 {
				t.Fatalf("reset left index slot %d = %d", j, v)
			}
		}
	}
}

// TestBatchFlowsFullBatch fills batches with as many distinct flows as
// frames (the bound the index is sized for): each gets its own position,
// in first-seen order, and adding a flow again finds it.
func TestBatchFlowsFullBatch(t *testing.T) {
	for _, batch := range []int{1, 2, 3, 64, 1024} {
		b := newBatchFlows(batch)
		key := func(i int) (uint32, [32]byte) {
			var sub [32]byte
			sub[5], sub[6] = byte(i), byte(i>>8)
			return uint32(i % 3), sub
		}
		for i := range batch {
			idx, sub := key(i)
			if got := b.add(idx, &sub, 1); got != int16(i) {
				t.Fatalf("batch %d: flow %d added at %d", batch, i, got)
			}
		}
		for i := range batch {
			idx, sub := key(i)
			if got := b.add(idx, &sub, 2); got != int16(i) {
				t.Fatalf("batch %d: flow %d found at %d", batch, i, got)
			}
		}
		if len(b.flows) != batch {
			t.Fatalf("batch %d: %d flows", batch, len(b.flows))
		}
		for i := range b.flows {
			if b.flows[i].n != 3 {
				t.Fatalf("batch %d: flow %d counts %d SeqNums, want 3", batch, i, b.flows[i].n)
			}
		}
		b.reset()
	}
}
