package memory_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/memory"
)

// walk lists all pages of opts, calling between after each page.
func walk(t *testing.T, b *memory.Backend, opts cache.ListOptions, between func(page int)) (keys []string, last cache.ListPage) {
	t.Helper()
	for page := 0; ; page++ {
		pg, err := b.List(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pg.Entries {
			keys = append(keys, string(e.Key))
		}
		if pg.Cursor == "" {
			return keys, pg
		}
		if between != nil {
			between(page)
		}
		opts.Cursor = pg.Cursor
	}
}

func TestListSortedAndStableUnderWrites(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t, memory.Options{Shards: 8})
	for i := range 50 {
		must(t, b.Set(ctx, key(i), []byte("v"), 0))
	}
	keys, _ := walk(t, b, cache.ListOptions{Limit: 10}, func(page int) {
		if page != 0 {
			return
		}
		must(t, b.Del(ctx, key(5)))                               // already returned
		must(t, b.Del(ctx, key(15)))                              // not yet returned
		must(t, b.Set(ctx, []byte("key-00000a"), []byte("v"), 0)) // behind the cursor
		must(t, b.Set(ctx, []byte("key-00049z"), []byte("v"), 0)) // ahead of it
		must(t, b.Set(ctx, key(20), []byte("overwritten"), 0))    // ahead, rewritten
	})
	if !slices.IsSorted(keys) {
		t.Errorf("keys not in ascending order: %q", keys)
	}
	if len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Errorf("a key was returned twice: %q", keys)
	}
	has := func(k string) bool { return slices.Contains(keys, k) }
	if !has(string(key(5))) || has(string(key(15))) || has("key-00000a") || !has("key-00049z") || !has(string(key(20))) {
		t.Errorf("walk under writes returned %q", keys)
	}
	if len(keys) != 50 { // 50 - key 15 + key-00049z
		t.Errorf("got %d keys, want 50", len(keys))
	}
}

func TestListEmptyKeyAndResume(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t, memory.Options{})
	for _, k := range []string{"", "\x00", "a"} {
		must(t, b.Set(ctx, []byte(k), []byte("v"), 0))
	}
	keys, _ := walk(t, b, cache.ListOptions{Limit: 1}, nil)
	if want := []string{"", "\x00", "a"}; !slices.Equal(keys, want) {
		t.Fatalf("walk = %q, want %q", keys, want)
	}
}

func TestListMaxBoundary(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t, memory.Options{})
	for i := range 30 {
		must(t, b.Set(ctx, key(i), []byte("v"), 0))
	}
	for _, tc := range []struct {
		limit, max, want int
		truncated        bool
	}{
		{7, 30, 30, false}, // exactly Max keys: complete, not truncated
		{7, 29, 29, true},
		{100, 31, 30, false},
		{30, 30, 30, false},
	} {
		keys, last := walk(t, b, cache.ListOptions{Limit: tc.limit, Max: tc.max}, nil)
		if len(keys) != tc.want || last.Truncated != tc.truncated {
			t.Errorf("Limit %d Max %d: %d keys, Truncated %v; want %d, %v",
				tc.limit, tc.max, len(keys), last.Truncated, tc.want, tc.truncated)
		}
	}
	// A cursor already at the cap yields nothing more.
	cur := cache.ListCursor{Returned: 10, Pos: key(9)}.String()
	pg, err := b.List(ctx, cache.ListOptions{Max: 10, Cursor: cur})
	if err != nil || len(pg.Entries) != 0 || pg.Cursor != "" || !pg.Truncated {
		t.Fatalf("List at the cap = %+v, %v", pg, err)
	}
}

func TestListSkipsExpired(t *testing.T) {
	ctx := t.Context()
	clk := newFakeClock()
	b := newBackend(t, memory.Options{Clock: clk.Now, SweepInterval: -1})
	must(t, b.Set(ctx, []byte("a"), []byte("v"), time.Second))
	must(t, b.Set(ctx, []byte("b"), []byte("v"), 0))
	clk.Advance(time.Second)
	keys, _ := walk(t, b, cache.ListOptions{}, nil)
	if !slices.Equal(keys, []string{"b"}) {
		t.Fatalf("List = %q, want only the unexpired key", keys)
	}
}
