package txidset

import (
	"runtime"
	"unsafe"
)

// Tier-1 storage. A large Local keeps its big arrays (entries, index slots,
// recency ring and heap of every shard) in one off-heap arena mapped with
// transparent huge pages: a 1,048,576-entry set spans ~62 MiB, and with
// 4 KiB pages nearly every tier-1 miss was also a TLB miss (16,000 pages
// against ~2,000 TLB entries); with 2 MiB pages the 31 translations stay
// cached. The arrays hold no Go pointers (keys, stamps, entry numbers), so
// the garbage collector need not scan them and they may live outside the
// Go heap.
//
// The arena is unmapped by a cleanup once the Local is unreachable, never
// explicitly: claims may continue after Set.Close, and a Local is released
// like any Go value, so no goroutine can touch unmapped memory. Every
// method that reaches the arrays keeps its Local alive to its end
// (runtime.KeepAlive), because the arrays' own slices do not.
//
// Small sets, race-detector builds (whose shadow memory does not cover
// foreign mappings, so races there would go unseen) and systems where the
// mapping fails use ordinary Go slices.

// arenaMin is the smallest array footprint that gets an arena: one huge
// page. Smaller sets fit the TLB anyway, and rounding them up to 2 MiB
// would waste memory.
const arenaMin = hugePageSize

// mapArena maps n bytes (a multiple of hugePageSize) of zeroed anonymous
// memory aligned to hugePageSize, asking for huge pages. It returns the
// usable bytes, the whole mapping to unmap later, and whether the kernel
// accepted the huge-page advice. A variable so tests can make it fail.
var mapArena = mapHugePages

// releaseArena unmaps an arena once its Local is unreachable; a variable
// so tests can watch the release.
var releaseArena = unmapArena

// carver lays the arrays of a Local out one after another, each aligned to
// a cache line: from mem when it is set, from the Go heap when not, or,
// while sizing, nowhere (it only adds up the bytes).
type carver struct {
	mem    []byte // the arena, or nil
	sizing bool   // count only; carve returns nil
	off    uintptr
}

// carve returns n zeroed Ts. T must hold no pointers.
func carve[T any](c *carver, n int) []T {
	size := unsafe.Sizeof(*new(T)) * uintptr(n)
	off := (c.off + cacheLine - 1) &^ (cacheLine - 1)
	c.off = off + size
	switch {
	case c.sizing:
		return nil
	case c.mem == nil:
		return make([]T, n)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&c.mem[off])), n)
}

const cacheLine = 64

// arena is a Local's off-heap storage, if it has one.
type arena struct {
	bytes int  // bytes of the usable, aligned part
	huge  bool // the kernel accepted MADV_HUGEPAGE
}

// allocShards gives every shard its arrays, from an arena when the set is
// large enough and the mapping succeeds, else from the Go heap, and
// registers the arena's release with l's cleanup.
func (l *Local) allocShards(caps []uint32) {
	c := &carver{sizing: true}
	for i := range l.shards {
		l.shards[i].alloc(c, caps[i])
	}
	need := c.off
	size := roundUp(need, hugePageSize)
	*c = carver{}
	if need >= arenaMin && !raceEnabled {
		mem, mapping, huge, err := mapArena(int(size))
		if err == nil {
			c.mem = mem
			l.arena = arena{bytes: len(mem), huge: huge}
			runtime.AddCleanup(l, releaseArena, mapping)
		}
	}
	for i := range l.shards {
		l.shards[i].alloc(c, caps[i])
	}
}

// alloc carves the arrays of a shard of c entries.
func (s *shard) alloc(cv *carver, c uint32) {
	slots, idxBits := shardGeometry(c)
	hc := max(int(c)/requeueDiv, 1)
	s.cap = c
	s.idxBits = idxBits
	s.mask = slots - 1
	s.entries = carve[entry](cv, int(c)+1)
	s.index = carve[uint32](cv, int(slots))
	s.rec = recency{
		ring: stampRing{stamp: carve[int64](cv, int(c)), idx: carve[uint32](cv, int(c))},
		heap: stampHeap{stamp: carve[int64](cv, hc), idx: carve[uint32](cv, hc)},
	}
}

// roundUp rounds n up to a multiple of the power of two p.
func roundUp(n, p uintptr) uintptr { return (n + p - 1) &^ (p - 1) }
