package txidset

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// newRecency returns a recency for capacity entries with heapCap heap slots.
func newRecency(capacity, heapCap int) *recency {
	return &recency{
		ring: stampRing{stamp: make([]int64, capacity), idx: make([]uint32, capacity)},
		heap: stampHeap{stamp: make([]int64, heapCap), idx: make([]uint32, heapCap)},
	}
}

// Property: whatever the order of stamps (in order, slightly late as from
// another receive loop, or far back as a re-queued hit), oldest is always
// a pair with the smallest stamp queued, and every pair pushed comes out
// exactly once, through ring, heap and merges alike.
func TestRecencyOldestIsMinimum(t *testing.T) {
	for _, tc := range []struct {
		name              string
		capacity, heapCap int
	}{
		{"one slot", 1, 1},
		{"tiny heap", 16, 1},
		{"eighth", 64, 8},
		{"big heap", 64, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.capacity), uint64(tc.heapCap)))
			q := newRecency(tc.capacity, tc.heapCap)
			queued := map[uint32]int64{} // entry -> stamp
			free := make([]uint32, 0, tc.capacity)
			for i := range uint32(tc.capacity) {
				free = append(free, i+1)
			}
			clock := int64(1000)
			for step := range 50000 {
				if len(free) > 0 && (len(queued) == 0 || r.IntN(3) > 0) {
					var stamp int64
					switch clock += int64(r.IntN(3)); r.IntN(6) {
					case 0:
						stamp = clock - int64(r.IntN(2*maxShift)) // another loop's slightly older clock
					case 1:
						stamp = clock - int64(r.IntN(500)) // a re-queue of an old hit
					default:
						stamp = clock
					}
					i := free[len(free)-1]
					free = free[:len(free)-1]
					q.push(i, stamp)
					queued[i] = stamp
				} else {
					i, stamp, inRing := q.oldest()
					want, ok := queued[i]
					if !ok || want != stamp {
						t.Fatalf("step %d: oldest (%d, %d) not queued as such (%d, %v)", step, i, stamp, want, ok)
					}
					for j, s := range queued {
						if s < stamp {
							t.Fatalf("step %d: oldest stamp %d, entry %d has %d", step, stamp, j, s)
						}
					}
					q.pop(inRing)
					delete(queued, i)
					free = append(free, i)
				}
				if q.len() != len(queued) {
					t.Fatalf("step %d: len %d, want %d", step, q.len(), len(queued))
				}
			}
		})
	}
}

// A pair stamped up to maxShift pairs before the tail joins the ring in
// order; one further back is refused (it goes to the heap).
func TestStampRingInsertNearTail(t *testing.T) {
	q := newRecency(40, 8)
	r := &q.ring
	for i := range uint32(40) {
		if !r.insert(i+1, int64(10*i)) {
			t.Fatalf("in-order insert %d refused", i)
		}
	}
	r.popFront() // now the shifts below wrap around the end
	r.popFront()
	if !r.insert(100, int64(10*(40-maxShift))-5) {
		t.Fatal("insert maxShift pairs from the tail refused")
	}
	if r.insert(101, int64(10*(40-maxShift))-15) {
		t.Fatal("insert beyond maxShift accepted")
	}
	var stamps []int64
	for k := range r.n {
		stamps = append(stamps, r.stamp[r.at(k)])
	}
	if !slices.IsSorted(stamps) || r.last != stamps[len(stamps)-1] {
		t.Fatalf("ring out of order or last %d wrong: %v", r.last, stamps)
	}
}

// drainSorted leaves the heap's pairs latest first, and mergeHeap keeps the
// ring sorted across its wrap-around.
func TestRecencyMergeHeap(t *testing.T) {
	q := newRecency(20, 8)
	for i := range uint32(15) { // move the head so the merge wraps
		q.push(i+1, int64(i))
	}
	for range 15 {
		_, _, inRing := q.oldest()
		q.pop(inRing)
	}
	for i := range uint32(10) {
		q.push(i+1, 100+int64(2*i)) // ring: 100, 102, ... 118
	}
	for i, s := range []int64{105, 99, 130, 101, 117, 111, 50, 119} {
		q.heap.push(uint32(20-i), s)
	}
	q.mergeHeap()
	if q.heap.n != 0 || q.ring.n != 18 {
		t.Fatalf("after merge: heap %d, ring %d pairs", q.heap.n, q.ring.n)
	}
	var stamps []int64
	for k := range q.ring.n {
		stamps = append(stamps, q.ring.stamp[q.ring.at(k)])
	}
	if !slices.IsSorted(stamps) || stamps[0] != 50 || q.ring.last != 130 {
		t.Fatalf("merged ring %v, last %d", stamps, q.ring.last)
	}
}
