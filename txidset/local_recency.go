package txidset

// Recency: which entry of a shard was seen least recently. Under one TTL an
// entry's expiry is its last sighting plus TTL, so the least recently seen
// entry is the one with the earliest expiry, and that is the victim.
//
// Every insert is stamped now+TTL, and the clock only moves forward, so
// inserts arrive in stamp order: a FIFO ring keeps them with sequential
// writes at the tail and sequential reads at the head, and a novel TxID
// costs no random access for its bookkeeping (a heap of every entry, as
// before, cost a sift through ~7 levels of a 200 KiB array per insert, most
// of them cache misses). Lock-free hits raise an entry's expiry without
// telling the ring, so the ring stamp is only a lower bound; when a stale
// entry reaches the head it is re-queued with its current expiry. It cannot
// simply go to the tail (entries inserted after its old stamp but before
// its hit would then wrongly outlive it), so it goes to a small min-heap of
// re-queued entries, and the victim is the earlier of the ring head and the
// heap top, each settled first. When the heap fills, it is sorted and
// merged into the ring (amortised a few slot moves per re-queue), so the
// heap needs only an eighth of the shard's capacity. A re-queued expiry at
// or after the ring's newest stamp goes straight to the tail, and so does
// nothing else: the ring stays sorted and eviction stays exact LRU.

// requeueDiv sizes the heap of re-queued entries: capacity/requeueDiv
// slots (at least one).
const requeueDiv = 8

// stampRing is a FIFO of (stamp, entry) pairs in non-decreasing stamp
// order, one slot per entry of the shard. Used only under the shard mutex.
type stampRing struct {
	stamp []int64
	idx   []uint32
	head  uint32 // slot of the oldest pair
	n     uint32 // pairs held
	last  int64  // newest stamp, valid while n > 0
}

// at returns the slot of the k-th oldest pair.
func (r *stampRing) at(k uint32) uint32 {
	p := r.head + k
	if size := uint32(len(r.idx)); p >= size {
		p -= size
	}
	return p
}

// front returns the oldest pair; the ring must not be empty.
func (r *stampRing) front() (uint32, int64) { return r.idx[r.head], r.stamp[r.head] }

// popFront removes the oldest pair.
func (r *stampRing) popFront() {
	r.head = r.at(1)
	r.n--
}

// insert adds a pair at its place in stamp order if that is at most
// maxShift pairs from the tail, moving the later ones back, and reports
// whether it did; the ring must not be full. Concurrent receive loops read
// the clock a little apart, so an insert may be stamped slightly before the
// latest one of its shard: it lands a few slots from the tail, still in
// cache.
func (r *stampRing) insert(i uint32, stamp int64) bool {
	k := r.n // position the pair takes
	if k > 0 && stamp < r.last {
		for k > 0 && r.stamp[r.at(k-1)] > stamp {
			if r.n-k == maxShift {
				return false
			}
			k--
		}
		for j := r.n; j > k; j-- {
			dst, src := r.at(j), r.at(j-1)
			r.stamp[dst], r.idx[dst] = r.stamp[src], r.idx[src]
		}
	}
	p := r.at(k)
	r.stamp[p], r.idx[p] = stamp, i
	if k == r.n {
		r.last = stamp
	}
	r.n++
	return true
}

// maxShift bounds how far from the tail stampRing.insert places a pair.
const maxShift = 16

// recency orders the entries of one shard: every entry held is in exactly
// one of ring and heap. Used only under the shard mutex.
type recency struct {
	ring stampRing // inserts and in-order re-queues, oldest first
	heap stampHeap // re-queued entries whose stamp would break the ring's order
}

// len is the number of entries queued.
func (q *recency) len() int { return int(q.ring.n) + q.heap.n }

// push queues entry i with the given stamp (its expiry).
func (q *recency) push(i uint32, stamp int64) {
	if q.ring.insert(i, stamp) {
		return
	}
	if q.heap.full() {
		q.mergeHeap()
	}
	q.heap.push(i, stamp)
}

// oldest returns the pair with the earliest stamp and whether it heads the
// ring (else it tops the heap); i is 0 when nothing is queued.
func (q *recency) oldest() (i uint32, stamp int64, inRing bool) {
	if q.ring.n == 0 {
		if q.heap.n == 0 {
			return 0, 0, false
		}
		i, stamp = q.heap.top()
		return i, stamp, false
	}
	i, stamp = q.ring.front()
	if q.heap.n > 0 {
		if hi, hs := q.heap.top(); hs < stamp {
			return hi, hs, false
		}
	}
	return i, stamp, true
}

// pop removes the pair oldest returned.
func (q *recency) pop(inRing bool) {
	if inRing {
		q.ring.popFront()
	} else {
		q.heap.pop()
	}
}

// mergeHeap moves every heap pair into the ring at its place in stamp
// order: heapsort in place, then a merge from the back of both sequences,
// so no scratch memory is needed. The ring has room: ring and heap together
// hold at most one pair per entry.
func (q *recency) mergeHeap() {
	r, h := &q.ring, &q.heap
	m := h.drainSorted() // h.stamp[0] is the latest
	if m == 0 {
		return
	}
	i, k := int(r.n)-1, int(r.n)+m-1 // read and write positions from the back
	for j := 0; j < m; k-- {
		dst := r.at(uint32(k))
		if i >= 0 {
			if src := r.at(uint32(i)); r.stamp[src] > h.stamp[j] {
				r.stamp[dst], r.idx[dst] = r.stamp[src], r.idx[src]
				i--
				continue
			}
		}
		r.stamp[dst], r.idx[dst] = h.stamp[j], h.idx[j]
		j++
	}
	if r.n == 0 || h.stamp[0] > r.last {
		r.last = h.stamp[0]
	}
	r.n += uint32(m)
}
