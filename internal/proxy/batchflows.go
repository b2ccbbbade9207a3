package proxy

import "math/bits"

// batchFlow is one flow's share of a batch: the SeqNums the batch's frames
// on that flow take, reserved from the flow table in one call.
type batchFlow struct {
	key     flowKey
	n       uint64 // SeqNums the batch needs on the flow
	hashKey uint64
	next    uint64 // next reserved SeqNum to hand out
	slot    uint32 // its index slot, cleared by reset
}

// batchFlows groups the frames of one batch by flow, so that the worker
// takes each flow's lock, looks it up and relinks it once per batch rather
// than once per frame: a receive batch of 64 frames over 16 shard groups
// reserves 16 times. The reservation covers exactly the SeqNums the batch
// stamps, in batch order, so numbering stays gap-free and unique.
type batchFlows struct {
	flows []batchFlow // distinct flows of the batch, in first-seen order
	index []int32     // open addressing over flows: 0 empty, else position+1
	mask  uint32
}

// newBatchFlows returns the grouping scratch for batches of up to batch
// stamped frames (the index stays at most half full).
func newBatchFlows(batch int) batchFlows {
	n := 1 << bits.Len(uint(2*batch-1))
	return batchFlows{
		flows: make([]batchFlow, 0, batch),
		index: make([]int32, n),
		mask:  uint32(n - 1),
	}
}

// add counts n SeqNums for the flow (idx, subtree) and returns the flow's
// position in the batch. At most batch distinct flows may be added between
// resets.
func (b *batchFlows) add(idx uint32, subtree *[32]byte, n uint64) int16 {
	for j := flowMix(idx, subtree) & b.mask; ; j = (j + 1) & b.mask {
		v := b.index[j]
		if v == 0 {
			b.flows = append(b.flows, batchFlow{key: flowKey{idx: idx, subtree: *subtree}, n: n, slot: j})
			b.index[j] = int32(len(b.flows))
			return int16(len(b.flows) - 1)
		}
		if f := &b.flows[v-1]; f.key.idx == idx && f.key.subtree == *subtree {
			f.n += n
			return int16(v - 1)
		}
	}
}

// reserve takes every flow's SeqNums from the table, marking the flows used
// at now.
func (b *batchFlows) reserve(t *flowTable, now int64) {
	for i := range b.flows {
		f := &b.flows[i]
		f.hashKey, f.next = t.reserve(f.key.idx, &f.key.subtree, f.n, now)
	}
}

// take hands out the next n reserved SeqNums of flow i.
func (b *batchFlows) take(i int16, n uint64) (hashKey, first uint64) {
	f := &b.flows[i]
	first = f.next
	f.next += n
	return f.hashKey, first
}

// reset empties the grouping for the next batch.
func (b *batchFlows) reset() {
	for i := range b.flows {
		b.index[b.flows[i].slot] = 0
	}
	b.flows = b.flows[:0]
}
