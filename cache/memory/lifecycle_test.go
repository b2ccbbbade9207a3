package memory_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/memory"
)

func TestSweeperStopsOnClose(t *testing.T) {
	base := runtime.NumGoroutine()
	var bs []*memory.Backend
	for range 20 {
		bs = append(bs, memory.New(memory.Options{SweepInterval: time.Millisecond}))
	}
	for _, b := range bs {
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil { // idempotent
			t.Fatalf("second Close: %v", err)
		}
	}
	// Close waits for its sweeper, so the goroutines are gone already; allow
	// the runtime a moment to reap them.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("NumGoroutine = %d after Close, want ≤ %d: sweepers leaked", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNoSweeperWhenDisabled(t *testing.T) {
	base := runtime.NumGoroutine()
	b := memory.New(memory.Options{SweepInterval: -1})
	defer b.Close()
	if n := runtime.NumGoroutine(); n != base {
		t.Fatalf("NumGoroutine = %d, want %d with the sweeper disabled", n, base)
	}
}

func TestCloseReleasesData(t *testing.T) {
	b := memory.New(memory.Options{})
	must(t, b.Set(t.Context(), []byte("k"), []byte("v"), 0))
	must(t, b.Close())
	if st := b.Stats(); st.Keys != 0 || st.Bytes != 0 {
		t.Fatalf("Stats after Close = %+v", st)
	}
	if _, err := b.List(t.Context(), cache.ListOptions{}); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("List after Close: %v", err)
	}
}

func TestShardCount(t *testing.T) {
	for _, tc := range []struct {
		shards, maxKeys int
		maxBytes        int64
		want            int
	}{
		{0, 0, 0, memory.DefaultShards},
		{5, 0, 0, 8},
		{1, 0, 0, 1},
		{64, 100, 0, 1},              // 100 keys: too few to split
		{64, 64 * 64, 0, 64},         // 64 keys per shard
		{64, 64*64 - 1, 0, 32},       // just under
		{64, 0, 8 << 20, 8},          // 1 MiB per shard at least
		{64, 1 << 20, 256 << 20, 64}, // the flag defaults
		{1 << 20, 0, 0, 1024},        // capped
	} {
		b := memory.New(memory.Options{Shards: tc.shards, MaxKeys: tc.maxKeys, MaxBytes: tc.maxBytes, SweepInterval: -1})
		if got := b.Shards(); got != tc.want {
			t.Errorf("Options{Shards: %d, MaxKeys: %d, MaxBytes: %d}: Shards() = %d, want %d",
				tc.shards, tc.maxKeys, tc.maxBytes, got, tc.want)
		}
		b.Close()
	}
}

func TestOpenRegistersMemory(t *testing.T) {
	b, err := cache.Open(cache.Config{Backend: cache.BackendMemory, MemoryMaxKeys: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mb, ok := b.(*memory.Backend)
	if !ok {
		t.Fatalf("Open returned %T", b)
	}
	for i := range 20 {
		must(t, mb.Set(t.Context(), key(i), []byte("v"), 0))
	}
	if n := mb.Len(); n != 10 {
		t.Fatalf("Len = %d, want MemoryMaxKeys 10", n)
	}
	if _, err := cache.Open(cache.Config{Backend: cache.BackendMemory, MemoryMaxBytes: -1}); err == nil {
		t.Fatal("Open with a negative MemoryMaxBytes succeeded")
	}
}

// flakyCtx is a context whose Err turns to Canceled after n calls, to end a
// batch part way.
type flakyCtx struct {
	context.Context
	mu sync.Mutex // guards n
	n  int
}

func (c *flakyCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

func TestBatchContextEndsPartWay(t *testing.T) {
	b := newBackend(t, memory.Options{})
	ops := make([]cache.Op, 5)
	for i := range ops {
		ops[i] = cache.Op{Key: key(i), Val: []byte("v")}
	}
	// One Err call before the loop, then one per op: 3 ops run.
	ctx := &flakyCtx{Context: t.Context(), n: 4}
	if err := b.SetNXBatch(ctx, ops); err != nil {
		t.Fatalf("SetNXBatch returned %v; per-op results expected", err)
	}
	for i, op := range ops {
		done := i < 3
		if op.Created != done || (op.Err == nil) != done {
			t.Errorf("op %d: Created %v Err %v; want done=%v", i, op.Created, op.Err, done)
		}
		if !done && !errors.Is(op.Err, context.Canceled) {
			t.Errorf("op %d: Err = %v, want context.Canceled", i, op.Err)
		}
	}
	if n := b.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3 keys written", n)
	}
}

func TestConcurrentStressKeepsInvariants(t *testing.T) {
	b := newBackend(t, memory.Options{MaxKeys: 512, MaxBytes: 4 << 20, Shards: 4, SweepInterval: time.Millisecond})
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				k := fmt.Appendf(nil, "k%d", (i*7+w)%2000)
				var err error
				switch i % 5 {
				case 0:
					_, err = b.SetNX(ctx, k, k, time.Duration(i%3)*time.Millisecond)
				case 1:
					err = b.Set(ctx, k, make([]byte, i%4000), 0)
				case 2:
					_, err = b.Get(ctx, k)
				case 3:
					err = b.Del(ctx, k)
				default:
					_, err = b.List(ctx, cache.ListOptions{Pattern: "k1*", Limit: 10})
				}
				if err != nil {
					t.Errorf("op %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Keys > 512 || st.Bytes > 4<<20 {
		t.Fatalf("Stats = %+v over the bounds", st)
	}
}
