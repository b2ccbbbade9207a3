package txidset

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Marks are written create-only into MarkPrefix: an existing claim keeps
// its own TTL.
func TestMarkWritesCreateOnly(t *testing.T) {
	f := newFake(nil)
	claimer, _ := newTestSet(t, Options{Capacity: 100, Prefix: prefix, TTL: time.Minute, Backend: fakeBatcher{f}})
	claim(t, claimer, 1) // the proxy's claim, TTL 1 min
	s, reg := newTestSet(t, Options{Capacity: 100, Prefix: "bsl:egr:d:", Backend: fakeBatcher{f},
		MarkPrefix: prefix, MarkTTL: 10 * time.Minute})
	if !s.Mark(id(2)) || s.MarkBatch(ids(1, 3)) != 2 {
		t.Fatal("marks not queued")
	}
	eventually(t, 2*time.Second, "marks written", func() bool { return metric(t, reg, "mark_written_total") == 3 })
	f.mu.Lock()
	ttl1, ttl2 := f.ttls[key(prefix, 1)], f.ttls[key(prefix, 2)]
	f.mu.Unlock()
	if ttl1 != time.Minute || ttl2 != 10*time.Minute || !f.has(key(prefix, 3)) {
		t.Fatalf("TTLs %v, %v: a mark overwrote a claim or was not written", ttl1, ttl2)
	}
	if f.has(key("bsl:egr:d:", 2)) {
		t.Fatal("Mark wrote into the claim namespace")
	}
}

// A full queue drops and counts, and MarkBatch never blocks.
func TestMarkFullQueueDropsWithoutBlocking(t *testing.T) {
	f := newFake(nil)
	f.delay.Store(int64(time.Hour)) // every write hangs until OpTimeout
	s, reg := newTestSet(t, Options{Capacity: 100, Backend: fakeBatcher{f}, MarkPrefix: prefix,
		MarkQueue: 8, MarkWorkers: 1, MarkBatch: 4, OpTimeout: 200 * time.Millisecond, DrainTimeout: 10 * time.Millisecond,
		Failures: 1000})
	many := make([][32]byte, 1000)
	start := time.Now()
	queued := 0
	for range 10 {
		queued += s.MarkBatch(many)
	}
	// Blocking until the stuck writes time out would take >= 10 × 200 ms.
	if el := time.Since(start); el > time.Second {
		t.Fatalf("MarkBatch blocked for %v", el)
	}
	if queued > 8+4 {
		t.Fatalf("%d queued with a queue of 8 and one in-flight batch of 4", queued)
	}
	if got := metric(t, reg, "mark_dropped_total", dropQueueFull); int(got) != 10000-queued {
		t.Fatalf("dropped %v, want %d", got, 10000-queued)
	}
}

// Without a backend, or without a MarkPrefix, marks go nowhere.
func TestMarkWithoutBackendOrPrefix(t *testing.T) {
	s, reg := newTestSet(t, Options{Capacity: 10, MarkPrefix: prefix})
	if s.Mark(id(1)) || metric(t, reg, "mark_dropped_total", dropBackend) != 1 {
		t.Fatal("mark without a backend not dropped and counted")
	}
	f := newFake(nil)
	s2, _ := newTestSet(t, Options{Capacity: 10, Backend: f})
	if s2.MarkBatch(ids(1, 2)) != 0 {
		t.Fatal("mark without a MarkPrefix queued")
	}
	time.Sleep(10 * time.Millisecond)
	if f.calls.Load() != 0 {
		t.Fatal("mark without a MarkPrefix written")
	}
}

// A backend marked down drops marks (counted) instead of queueing behind it.
func TestMarkWhileBackendDown(t *testing.T) {
	f := newFake(nil)
	f.down.Store(true)
	s, reg := newTestSet(t, Options{Capacity: 10, Backend: f, MarkPrefix: prefix, Failures: 1, ReconnectMin: time.Hour})
	claim(t, s, 1) // marks the backend down
	s.MarkBatch(ids(1, 2, 3))
	eventually(t, time.Second, "drops", func() bool { return metric(t, reg, "mark_dropped_total", dropBackend) == 3 })
}

// Close writes what is queued (within DrainTimeout); later marks are
// dropped as "closed".
func TestCloseDrainsMarks(t *testing.T) {
	f := newFake(nil)
	reg := prometheus.NewRegistry()
	s, _ := newTestSet(t, Options{Capacity: 10, Backend: fakeBatcher{f}, MarkPrefix: prefix, MarkQueue: 10000,
		Registerer: keepRegisterer{reg}})
	many := make([][32]byte, 5000)
	for i := range many {
		many[i] = id(uint64(i))
	}
	if s.MarkBatch(many) != len(many) {
		t.Fatal("not all queued")
	}
	s.Close()
	if got := metric(t, reg, "mark_written_total"); got != 5000 {
		t.Fatalf("%v marks written by Close, want 5000", got)
	}
	if s.Mark(id(1)) || metric(t, reg, "mark_dropped_total", dropClosed) != 1 {
		t.Fatal("mark after Close not dropped as closed")
	}
}

// A stuck backend cannot hold Close longer than DrainTimeout (plus one
// OpTimeout); what is left is counted as dropped.
func TestCloseDrainTimeout(t *testing.T) {
	f := newFake(nil)
	f.delay.Store(int64(time.Hour))
	reg := prometheus.NewRegistry()
	s, _ := newTestSet(t, Options{Capacity: 10, Backend: fakeBatcher{f}, MarkPrefix: prefix, MarkQueue: 1000,
		MarkBatch: 10, MarkWorkers: 2, OpTimeout: 20 * time.Millisecond, DrainTimeout: 50 * time.Millisecond,
		Failures: 1000, Registerer: keepRegisterer{reg}})
	s.MarkBatch(make([][32]byte, 1000))
	start := time.Now()
	s.Close()
	if el := time.Since(start); el > 50*time.Millisecond+20*time.Millisecond+500*time.Millisecond {
		t.Fatalf("Close took %v", el)
	}
	dropped := metric(t, reg, "mark_dropped_total", dropClosed) + metric(t, reg, "mark_dropped_total", dropBackend)
	if dropped != 1000 {
		t.Fatalf("%v of 1000 marks accounted as dropped", dropped)
	}
}
