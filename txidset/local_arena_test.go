package txidset

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// arenaCap is a capacity whose arrays (~4 MiB) get an arena.
const arenaCap = 1 << 16

// When the mapping fails, NewLocal falls back to the Go heap and the set
// works as before.
func TestArenaFallback(t *testing.T) {
	saved := mapArena
	t.Cleanup(func() { mapArena = saved })
	calls := 0
	mapArena = func(int) ([]byte, []byte, bool, error) {
		calls++
		return nil, nil, false, errors.New("no mapping today")
	}
	l := mustLocal(t, arenaCap, 0, time.Hour)
	if raceEnabled {
		if calls != 0 {
			t.Fatal("race build tried to map an arena")
		}
	} else if calls != 1 {
		t.Fatalf("mapArena called %d times, want 1", calls)
	}
	if l.arena.bytes != 0 {
		t.Fatalf("arena of %d bytes after a failed mapping", l.arena.bytes)
	}
	for i := range uint64(2 * arenaCap) {
		a := id(i)
		if l.CheckInsert(&a, int64(i)) {
			t.Fatalf("novel id %d was a hit", i)
		}
	}
	checkLocal(t, l)
}

// Small sets stay on the Go heap; large ones get an arena (except under
// the race detector), with every array inside it, cache-line aligned and
// disjoint from the others.
func TestArenaLayout(t *testing.T) {
	if l := mustLocal(t, 1000, 0, time.Hour); l.arena.bytes != 0 {
		t.Fatalf("capacity 1000 mapped an arena of %d bytes", l.arena.bytes)
	}
	if raceEnabled {
		t.Skip("race builds keep tier 1 on the Go heap")
	}
	l := mustLocal(t, arenaCap, 0, time.Hour)
	if l.arena.bytes == 0 || l.arena.bytes%hugePageSize != 0 {
		t.Fatalf("arena of %d bytes, want a positive multiple of %d", l.arena.bytes, hugePageSize)
	}
	type span struct{ lo, hi uintptr }
	var spans []span
	add := func(p unsafe.Pointer, n uintptr) {
		lo := uintptr(p)
		if lo%cacheLine != 0 {
			t.Fatalf("array at %#x is not cache-line aligned", lo)
		}
		spans = append(spans, span{lo, lo + n})
	}
	for i := range l.shards {
		s := &l.shards[i]
		add(unsafe.Pointer(&s.entries[0]), uintptr(len(s.entries))*unsafe.Sizeof(entry{}))
		add(unsafe.Pointer(&s.index[0]), uintptr(len(s.index))*4)
		add(unsafe.Pointer(&s.rec.ring.stamp[0]), uintptr(len(s.rec.ring.stamp))*8)
		add(unsafe.Pointer(&s.rec.ring.idx[0]), uintptr(len(s.rec.ring.idx))*4)
		add(unsafe.Pointer(&s.rec.heap.stamp[0]), uintptr(len(s.rec.heap.stamp))*8)
		add(unsafe.Pointer(&s.rec.heap.idx[0]), uintptr(len(s.rec.heap.idx))*4)
	}
	base := spans[0].lo
	if base%hugePageSize != 0 {
		t.Fatalf("arena at %#x is not huge-page aligned", base)
	}
	for k, sp := range spans {
		if sp.hi > base+uintptr(l.arena.bytes) {
			t.Fatalf("array %d ends %d bytes past the arena", k, sp.hi-base-uintptr(l.arena.bytes))
		}
		if k > 0 && sp.lo < spans[k-1].hi {
			t.Fatalf("array %d overlaps the one before", k)
		}
	}
	runtime.KeepAlive(l)
}

// Use-after-unmap cannot happen: Locals used only through CheckInsertBatch
// and CheckInsert while the collector runs flat out (so each becomes
// unreachable, and its arena unmapped, the moment its last call returns)
// never touch unmapped memory. A violation would crash the test binary.
func TestArenaUnmapSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("maps and unmaps arenas for a second")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	deadline := time.Now().Add(time.Second)
	var n uint64
	for time.Now().Before(deadline) {
		useAndDrop(t, &n)
	}
	close(stop)
	wg.Wait()
}

// useAndDrop makes a Local with an arena and uses it once per entry point;
// nothing refers to it afterwards.
func useAndDrop(t *testing.T, n *uint64) {
	l := mustLocal(t, arenaCap, 0, time.Hour)
	ids := make([][32]byte, 64)
	hit := make([]bool, len(ids))
	for k := range ids {
		ids[k] = id(*n)
		*n++
	}
	l.CheckInsertBatch(ids, 1, hit)
	if !l.CheckInsert(&ids[0], 2) || !l.Contains(&ids[1], 2) {
		t.Fatal("lost an id")
	}
}
