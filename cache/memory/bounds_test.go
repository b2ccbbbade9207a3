package memory_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache/memory"
)

// fakeClock is an injected clock that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newBackend(t *testing.T, opts memory.Options) *memory.Backend {
	t.Helper()
	b := memory.New(opts)
	t.Cleanup(func() {
		if err := b.CheckInvariants(); err != nil {
			t.Errorf("invariants: %v", err)
		}
		_ = b.Close()
	})
	return b
}

func key(i int) []byte { return fmt.Appendf(nil, "key-%05d", i) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMaxKeysEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := t.Context()
	const max = 100
	b := newBackend(t, memory.Options{MaxKeys: max, SweepInterval: -1})
	if b.Shards() != 1 {
		t.Fatalf("Shards() = %d for MaxKeys %d, want 1 (too small to split)", b.Shards(), max)
	}
	for i := range max {
		must(t, b.Set(ctx, key(i), []byte("v"), 0))
	}
	// Touch the oldest key by Get and by a lost SetNX: both survive.
	if v, _ := b.Get(ctx, key(0)); v == nil {
		t.Fatal("key 0 missing before the bound was reached")
	}
	if ok, _ := b.SetNX(ctx, key(1), []byte("x"), 0); ok {
		t.Fatal("SetNX on an existing key = true")
	}
	for i := max; i < max+10; i++ {
		must(t, b.Set(ctx, key(i), []byte("v"), 0))
		if n := b.Len(); n > max {
			t.Fatalf("after %d inserts Len = %d > MaxKeys %d", i+1, n, max)
		}
	}
	for i, want := range map[int]bool{0: true, 1: true, 2: false, 11: false, 12: true, max + 9: true} {
		if v, _ := b.Get(ctx, key(i)); (v != nil) != want {
			t.Errorf("key %d present = %v, want %v (LRU order: 0 and 1 were touched, 2..11 are oldest)", i, v != nil, want)
		}
	}
	if st := b.Stats(); st.Evicted != 10 || st.Keys != max {
		t.Errorf("Stats = %+v, want 10 evicted, %d keys", st, max)
	}
}

func TestMaxKeysSplitAcrossShards(t *testing.T) {
	ctx := t.Context()
	const max = 1000
	b := newBackend(t, memory.Options{MaxKeys: max, Shards: 8, SweepInterval: -1})
	if b.Shards() != 8 {
		t.Fatalf("Shards() = %d, want 8", b.Shards())
	}
	for i := range 20 * max {
		must(t, b.Set(ctx, key(i), []byte("v"), 0))
		if i%97 == 0 && b.Len() > max {
			t.Fatalf("Len = %d > MaxKeys %d", b.Len(), max)
		}
	}
	// Every shard is saturated by now, and the shares add up to MaxKeys.
	if n := b.Len(); n != max {
		t.Fatalf("Len = %d after saturating, want exactly %d", n, max)
	}
	// The most recent keys are all present (each was its shard's newest).
	for i := 20*max - 8; i < 20*max; i++ {
		if v, _ := b.Get(ctx, key(i)); v == nil {
			t.Errorf("recent key %d evicted", i)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	ctx := t.Context()
	val := bytes.Repeat([]byte("v"), 1000)
	entry := int64(len(key(0))+len(val)) + memory.EntryOverhead
	b := newBackend(t, memory.Options{MaxBytes: 10 * entry, SweepInterval: -1})
	for i := range 10 {
		must(t, b.Set(ctx, key(i), val, 0))
	}
	if st := b.Stats(); st.Bytes != 10*entry || st.Evicted != 0 {
		t.Fatalf("Stats = %+v, want %d bytes and nothing evicted", st, 10*entry)
	}
	_, _ = b.Get(ctx, key(0)) // touch
	must(t, b.Set(ctx, key(10), val, 0))
	if st := b.Stats(); st.Bytes > 10*entry || st.Keys != 10 || st.Evicted != 1 {
		t.Fatalf("Stats = %+v, want ≤ %d bytes, 10 keys, 1 evicted", st, 10*entry)
	}
	if v, _ := b.Get(ctx, key(1)); v != nil {
		t.Error("key 1 (least recently used) survived")
	}
	if v, _ := b.Get(ctx, key(0)); v == nil {
		t.Error("key 0 (touched) was evicted")
	}
	// A value three entries long evicts three entries.
	must(t, b.Set(ctx, key(99), bytes.Repeat(val, 3), 0))
	if st := b.Stats(); st.Bytes > 10*entry || st.Keys != 8 {
		t.Fatalf("Stats = %+v after a triple-size value, want 8 keys within %d bytes", st, 10*entry)
	}
}

func TestTooLargeIsRejectedWithoutEvicting(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t, memory.Options{MaxBytes: 1 << 20, SweepInterval: -1})
	if got := b.MaxEntryBytes(); got != 1<<20 {
		t.Fatalf("MaxEntryBytes = %d, want %d", got, 1<<20)
	}
	for i := range 10 {
		must(t, b.Set(ctx, key(i), []byte("small"), 0))
	}
	huge := make([]byte, 1<<20)
	if err := b.Set(ctx, key(3), huge, 0); !errors.Is(err, memory.ErrTooLarge) {
		t.Fatalf("Set of an oversized value: %v, want ErrTooLarge", err)
	}
	if ok, err := b.SetNX(ctx, key(100), huge, 0); ok || !errors.Is(err, memory.ErrTooLarge) {
		t.Fatalf("SetNX of an oversized value = %v, %v; want false, ErrTooLarge", ok, err)
	}
	if st := b.Stats(); st.Keys != 10 || st.Evicted != 0 || st.Rejected != 2 {
		t.Fatalf("Stats = %+v, want 10 keys, nothing evicted, 2 rejected", st)
	}
	if v, _ := b.Get(ctx, key(3)); string(v) != "small" {
		t.Fatalf("rejected Set changed the existing value: %q", v)
	}
	// Exactly the bound is accepted (and evicts everything else).
	fit := make([]byte, (1<<20)-len(key(0))-memory.EntryOverhead)
	must(t, b.Set(ctx, key(0), fit, 0))
	if st := b.Stats(); st.Keys != 1 || st.Bytes != 1<<20 {
		t.Fatalf("Stats = %+v after a value of exactly the bound", st)
	}
}

func TestByteAccounting(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t, memory.Options{SweepInterval: -1})
	k := []byte("k")
	charge := func(n int) int64 { return int64(len(k)+n) + memory.EntryOverhead }
	must(t, b.Set(ctx, k, make([]byte, 500), 0))
	if got := b.Stats().Bytes; got != charge(500) {
		t.Fatalf("Bytes = %d, want %d", got, charge(500))
	}
	must(t, b.Set(ctx, k, make([]byte, 20), 0))
	if got := b.Stats().Bytes; got != charge(20) {
		t.Fatalf("Bytes after a smaller overwrite = %d, want %d", got, charge(20))
	}
	must(t, b.Del(ctx, k))
	if st := b.Stats(); st.Bytes != 0 || st.Keys != 0 {
		t.Fatalf("Stats after Del = %+v, want empty", st)
	}
}

func TestLazyExpiryOnRead(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	b := newBackend(t, memory.Options{Clock: clk.Now, SweepInterval: -1})
	must(t, b.Set(ctx, []byte("k"), []byte("v"), time.Second))
	if ok, _ := b.SetNX(ctx, []byte("nx"), []byte("v"), time.Second); !ok {
		t.Fatal("SetNX = false")
	}
	clk.Advance(999 * time.Millisecond)
	if v, _ := b.Get(ctx, []byte("k")); v == nil {
		t.Fatal("key expired early")
	}
	clk.Advance(time.Millisecond)
	if b.Len() != 2 {
		t.Fatalf("Len = %d before any read, want 2 (expiry is lazy)", b.Len())
	}
	if v, _ := b.Get(ctx, []byte("k")); v != nil {
		t.Fatalf("Get after expiry = %q", v)
	}
	// An expired key is absent for SetNX, which reuses its slot.
	if ok, _ := b.SetNX(ctx, []byte("nx"), []byte("new"), 0); !ok {
		t.Fatal("SetNX over an expired key = false")
	}
	if st := b.Stats(); st.Keys != 1 || st.Expired != 2 {
		t.Fatalf("Stats = %+v, want 1 key, 2 expired", st)
	}
}

func TestSweepRemovesExpiredKeysWithoutReads(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	b := newBackend(t, memory.Options{Clock: clk.Now, SweepInterval: time.Millisecond, Shards: 4})
	for i := range 3000 { // several sweep chunks per shard
		ttl := time.Second
		if i%10 == 0 {
			ttl = 0
		}
		must(t, b.Set(ctx, key(i), []byte("v"), ttl))
	}
	clk.Advance(2 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for b.Len() != 300 {
		if time.Now().After(deadline) {
			t.Fatalf("Len = %d, want 300 after the sweep", b.Len())
		}
		time.Sleep(time.Millisecond)
	}
	if st := b.Stats(); st.Expired != 2700 {
		t.Fatalf("Expired = %d, want 2700", st.Expired)
	}
}
