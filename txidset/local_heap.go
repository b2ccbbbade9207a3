package txidset

// stampHeap is a bounded 4-ary min-heap of (stamp, entry) pairs: the
// entries of one shard that a lock-free hit re-stamped after they were
// queued (see recency). A stamp is a lower bound of the entry's expiry;
// hits raise the expiry later without touching the heap, so the writer
// re-stamps a stale top before trusting it. Stamps and entry numbers live
// in two arrays (12 bytes per slot) allocated once; when the heap is full
// its pairs are sorted and merged into the ring. Used only under the shard
// mutex.
type stampHeap struct {
	stamp []int64
	idx   []uint32
	n     int
}

// arity is the heap's fan-out: four children's stamps share a cache line,
// halving the levels (and misses) of a binary heap.
const arity = 4

// full reports whether a push needs room first.
func (h *stampHeap) full() bool { return h.n == len(h.idx) }

// top returns the minimum pair; the heap must not be empty.
func (h *stampHeap) top() (uint32, int64) { return h.idx[0], h.stamp[0] }

// push adds entry i with the given stamp; the heap must not be full.
func (h *stampHeap) push(i uint32, stamp int64) {
	j := h.n
	h.n++
	for j > 0 {
		p := (j - 1) / arity
		if h.stamp[p] <= stamp {
			break
		}
		h.stamp[j], h.idx[j] = h.stamp[p], h.idx[p]
		j = p
	}
	h.stamp[j], h.idx[j] = stamp, i
}

// pop removes the top pair.
func (h *stampHeap) pop() {
	h.n--
	if h.n > 0 {
		h.down(h.idx[h.n], h.stamp[h.n])
	}
}

// restamp gives the top entry a later stamp and moves it down.
func (h *stampHeap) restamp(stamp int64) { h.down(h.idx[0], stamp) }

// down places (i, stamp) at the root and sifts it down.
func (h *stampHeap) down(i uint32, stamp int64) {
	j := 0
	for {
		c := arity*j + 1
		if c >= h.n {
			break
		}
		last := min(c+arity, h.n)
		for k := c + 1; k < last; k++ {
			if h.stamp[k] < h.stamp[c] {
				c = k
			}
		}
		if stamp <= h.stamp[c] {
			break
		}
		h.stamp[j], h.idx[j] = h.stamp[c], h.idx[c]
		j = c
	}
	h.stamp[j], h.idx[j] = stamp, i
}

// drainSorted empties the heap in place (heapsort) and returns how many
// pairs it held: afterwards stamp[0:n] is in non-increasing order, the
// latest first, with idx alongside.
func (h *stampHeap) drainSorted() int {
	n := h.n
	for h.n > 0 {
		i, stamp := h.top()
		h.pop() // frees slot h.n, which the minimum takes
		h.stamp[h.n], h.idx[h.n] = stamp, i
	}
	return n
}
