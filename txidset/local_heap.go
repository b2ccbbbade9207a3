package txidset

// stampHeap is a 4-ary min-heap of (stamp, entry) pairs: the recency order
// of one shard, kept lazily. An entry's stamp is its expiry when it was
// pushed; lock-free hits later raise the entry's expiry without touching
// the heap, so a stamp is a lower bound. The writer settles the top before
// trusting it (re-pushing stale tops with their current expiry): once the
// top is fresh it is the entry with the earliest expiry, which under one
// TTL is exactly the least recently seen. Stamps and entry numbers live in
// two arrays (12 bytes per entry) allocated once. Used only under the shard
// mutex.
// arity is the heap's fan-out: four children's stamps share a cache line,
// halving the levels (and misses) of a binary heap.
const arity = 4

type stampHeap struct {
	stamp []int64
	idx   []uint32
	n     int
}

func newStampHeap(capacity uint32) stampHeap {
	return stampHeap{stamp: make([]int64, capacity), idx: make([]uint32, capacity)}
}

// top returns the minimum pair; the heap must not be empty.
func (h *stampHeap) top() (uint32, int64) { return h.idx[0], h.stamp[0] }

// push adds entry i with the given stamp.
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
