package cachetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mcdedup/mcdedup/cache"
)

// listKeys are the key names (after the subtest prefix) the pattern cases
// browse.
var listKeys = []string{
	"user:1", "user:2", "user:10", "order:1", "order:2",
	"x?y", "xzy", "a/b", "a/c/d",
}

// testList checks prefix and glob listing, paging and the caps.
func testList(t *testing.T, sc *scope) {
	l, ok := sc.b.(cache.Lister)
	if !ok {
		t.Skipf("%T does not implement cache.Lister", sc.b)
	}
	p := sc.prefix
	for _, name := range listKeys {
		sc.set(sc.key(name), []byte("val-"+name), longTTL)
	}
	t.Run("Patterns", func(t *testing.T) {
		for _, tc := range []struct {
			pattern string // after the prefix
			want    []string
		}{
			{"", listKeys},
			{"user:", []string{"user:1", "user:2", "user:10"}},
			{"user:?", []string{"user:1", "user:2"}},
			{"*:1", []string{"user:1", "order:1"}},
			{"[uo]*:2", []string{"user:2", "order:2"}},
			{"order:[^1]", []string{"order:2"}},
			{"user:1*", []string{"user:1", "user:10"}},
			{`x\?y`, []string{"x?y"}},
			{"x?y", []string{"x?y", "xzy"}},
			{"a/*", []string{"a/b"}}, // '*' does not match '/'
			{"a/", []string{"a/b", "a/c/d"}},
			{"*/*/*", []string{"a/c/d"}},
			{"nomatch", nil},
		} {
			entries, _ := listAll(t, l, cache.ListOptions{Pattern: p + tc.pattern})
			got := entryNames(t, entries, p)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("List(%q) = %q, want %q", tc.pattern, got, want)
			}
			for _, e := range entries {
				if e.Val != nil {
					t.Errorf("List(%q) without WithValues: %q has Val %q", tc.pattern, e.Key, e.Val)
				}
			}
		}
	})
	t.Run("WithValues", func(t *testing.T) {
		entries, _ := listAll(t, l, cache.ListOptions{Pattern: p + "user:", WithValues: true})
		if len(entries) != 3 {
			t.Fatalf("got %d entries, want 3", len(entries))
		}
		for _, e := range entries {
			if want := "val-" + strings.TrimPrefix(string(e.Key), p); string(e.Val) != want {
				t.Errorf("%q: Val = %q, want %q", e.Key, e.Val, want)
			}
		}
		// Entries are the caller's.
		entries[0].Val[0] = 'X'
		sc.wantVal(entries[0].Key, []byte("val-"+strings.TrimPrefix(string(entries[0].Key), p)))
	})
	t.Run("BadPattern", func(t *testing.T) {
		for _, pat := range []string{p + "[", p + "a[b-", p + `*\`, p + "[]"} {
			_, err := l.List(sc.ctx, cache.ListOptions{Pattern: pat})
			wantErrIs(t, fmt.Sprintf("List(%q)", pat), err, cache.ErrBadPattern)
		}
	})
	t.Run("BadCursor", func(t *testing.T) {
		_, err := l.List(sc.ctx, cache.ListOptions{Pattern: p, Cursor: "!not a cursor!"})
		wantErrIs(t, "List with a garbage cursor", err, cache.ErrBadCursor)
	})
	t.Run("Paging", func(t *testing.T) { testListPaging(t, sc, l) })
}

// testListPaging: cursors walk every key exactly once; Limit and Max hold.
func testListPaging(t *testing.T, sc *scope, l cache.Lister) {
	// A namespace of its own, outside the other listing cases' prefix.
	const n = 57
	prefix := sc.s.ns + "ListPaging:"
	var all []string
	for i := range n {
		name := fmt.Sprintf("page:%03d", i)
		all = append(all, name)
		sc.set(sc.track([]byte(prefix+name)), []byte(name), longTTL)
	}
	pat := prefix + "page:"
	for _, limit := range []int{1, 7, 10, 1000, 1 << 30} {
		entries, pages := listAll(t, l, cache.ListOptions{Pattern: pat, Limit: limit})
		if got := entryNames(t, entries, prefix); !slices.Equal(got, all) {
			t.Fatalf("Limit %d: paging collected %d keys %q, want each of %d exactly once", limit, len(got), got, n)
		}
		for i, pg := range pages {
			if len(pg.Entries) > limit {
				t.Errorf("Limit %d: page %d has %d entries", limit, i, len(pg.Entries))
			}
			if pg.Truncated {
				t.Errorf("Limit %d: page %d Truncated under the default Max", limit, i)
			}
		}
	}
	for _, tc := range []struct{ limit, max int }{{7, 20}, {100, 20}, {1, 3}, {20, 20}} {
		entries, pages := listAll(t, l, cache.ListOptions{Pattern: pat, Limit: tc.limit, Max: tc.max})
		got := entryNames(t, entries, prefix)
		if len(got) != tc.max {
			t.Errorf("Limit %d Max %d: listing returned %d keys, want %d", tc.limit, tc.max, len(got), tc.max)
		}
		last := pages[len(pages)-1]
		if !last.Truncated {
			t.Errorf("Limit %d Max %d: last page not Truncated with %d matching keys", tc.limit, tc.max, n)
		}
		for i, pg := range pages[:len(pages)-1] {
			if pg.Truncated {
				t.Errorf("Limit %d Max %d: page %d of %d Truncated", tc.limit, tc.max, i, len(pages))
			}
		}
	}
	// More room than keys: not truncated.
	entries, pages := listAll(t, l, cache.ListOptions{Pattern: pat, Limit: 10, Max: 100})
	if len(entries) != n || pages[len(pages)-1].Truncated {
		t.Errorf("Max 100 over %d keys: got %d keys, Truncated %v", n, len(entries), pages[len(pages)-1].Truncated)
	}
}

// listAll follows cursors until the listing ends and returns every entry and
// every page.
func listAll(t *testing.T, l cache.Lister, opts cache.ListOptions) ([]cache.Entry, []cache.ListPage) {
	t.Helper()
	var (
		entries []cache.Entry
		pages   []cache.ListPage
	)
	ctx := t.Context()
	for range 10000 {
		pg, err := l.List(ctx, opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		if len(pg.Partial) > 0 {
			t.Fatalf("List(%q): Partial = %q on a healthy backend", opts.Pattern, pg.Partial)
		}
		pages = append(pages, pg)
		entries = append(entries, pg.Entries...)
		if pg.Cursor == "" {
			return entries, pages
		}
		if pg.Truncated {
			t.Fatalf("List(%q): Truncated page with a cursor %q", opts.Pattern, pg.Cursor)
		}
		opts.Cursor = pg.Cursor
	}
	t.Fatalf("List(%q): no end after 10000 pages", opts.Pattern)
	return nil, nil
}

// entryNames returns the sorted key names of entries with prefix stripped,
// failing on a key outside prefix.
func entryNames(t *testing.T, entries []cache.Entry, prefix string) []string {
	t.Helper()
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		k := string(e.Key)
		if !strings.HasPrefix(k, prefix) {
			t.Errorf("listing returned %q outside the pattern's prefix %q", k, prefix)
			continue
		}
		names = append(names, strings.TrimPrefix(k, prefix))
	}
	slices.Sort(names)
	return names
}
