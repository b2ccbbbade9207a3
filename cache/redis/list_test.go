package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// listAllPages follows cursors until the listing ends.
func listAllPages(t *testing.T, b *Backend, opts cache.ListOptions) []cache.ListPage {
	t.Helper()
	var pages []cache.ListPage
	for range 100000 {
		pg, err := b.List(t.Context(), opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		if len(pg.Entries) > opts.Limit && opts.Limit > 0 {
			t.Fatalf("page of %d entries over Limit %d", len(pg.Entries), opts.Limit)
		}
		pages = append(pages, pg)
		if pg.Cursor == "" {
			return pages
		}
		opts.Cursor = pg.Cursor
	}
	t.Fatal("listing did not end")
	return nil
}

// splitLines splits a redistest array reply.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestScanMatch(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"", "*"},
		{"bsp:tx:", "bsp:tx:*"},
		{"a*b", "a*b"},
		{"a?b", "a*b"},
		{"a[xyz]b", "a*b"},
		{`a[\]x]b`, "a*b"},
		{"a**?[0-9]b", "a*b"},
		{`a\*b*`, `a\*b*`},
		{`a\\b*`, `a\\b*`},
		{`x\?y`, `x\?y`},
		{"pre]fix", `pre\]fix*`},       // prefix mode: ']' is no glob metacharacter
		{`back\slash`, `back\\slash*`}, // prefix mode: '\' is literal
		{"a/*/c", "a/*/c"},
	} {
		m, err := cache.NewMatcher(tc.pattern)
		if err != nil {
			t.Fatalf("NewMatcher(%q): %v", tc.pattern, err)
		}
		if got := scanMatch(m); got != tc.want {
			t.Errorf("scanMatch(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// TestScanMatchSupersetOnServer checks the property List relies on against
// a real server: every key path.Match accepts is also accepted by Redis for
// the translated SCAN MATCH pattern. Keys and patterns are random over an
// alphabet rich in the characters where the two dialects differ.
func TestScanMatchSupersetOnServer(t *testing.T) {
	srv := redistest.Start(t)
	b := newBackend(t, []string{srv.Addr()}, false)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))

	keyAlphabet := []string{"a", "b", "/", ":", "*", "?", "[", "]", "\\", "^", "-", "é", "\xff", "\x00", "ü"}
	keys := map[string]bool{}
	for len(keys) < 300 {
		var sb strings.Builder
		for range 1 + rng.IntN(6) {
			sb.WriteString(keyAlphabet[rng.IntN(len(keyAlphabet))])
		}
		keys[sb.String()] = true
	}
	ops := make([]cache.Op, 0, len(keys))
	for k := range keys {
		ops = append(ops, cache.Op{Key: []byte(k), Val: []byte("v")})
	}
	if err := b.SetBatch(ctx, ops); err != nil {
		t.Fatal(err)
	}

	patAlphabet := []string{"a", "b", "/", ":", "*", "?", "[ab]", "[^a]", "[a-c]", `\*`, `\?`, `\[`, `\\`, "é", "?é", "[é]", "\xff", "ü"}
	tried := 0
	for tried < 300 {
		var sb strings.Builder
		for range 1 + rng.IntN(5) {
			sb.WriteString(patAlphabet[rng.IntN(len(patAlphabet))])
		}
		m, err := cache.NewMatcher(sb.String())
		if err != nil {
			continue
		}
		tried++
		server := map[string]bool{}
		var cursor uint64
		for {
			ks, next, err := b.client.Scan(ctx, cursor, scanMatch(m), 1000).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range ks {
				server[k] = true
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		for k := range keys {
			if m.MatchString(k) && !server[k] {
				t.Errorf("pattern %q (MATCH %q): path.Match accepts %q, SCAN MATCH dropped it", m.Pattern(), scanMatch(m), k)
			}
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, p := range []scanPos{
		{},
		{node: "127.0.0.1:7000", scan: 12345},
		{node: "10.0.0.1:6379", scan: 1 << 60, pending: [][]byte{[]byte("a"), {}, {0, 0xff}}},
		{done: true, pending: [][]byte{[]byte("left")}},
	} {
		enc := p.encode(nil, "pat*")
		got, err := decodePos(enc, "pat*")
		if err != nil {
			t.Fatalf("decode(%+v): %v", p, err)
		}
		if got.node != p.node || got.scan != p.scan || got.done != p.done || len(got.pending) != len(p.pending) {
			t.Fatalf("round trip %+v -> %+v", p, got)
		}
		for i := range p.pending {
			if !bytes.Equal(got.pending[i], p.pending[i]) {
				t.Fatalf("pending %d: %q -> %q", i, p.pending[i], got.pending[i])
			}
		}
		if _, err := decodePos(enc, "other"); !errors.Is(err, cache.ErrBadCursor) {
			t.Errorf("cursor accepted for another pattern: %v", err)
		}
		for n := 1; n < len(enc); n++ {
			if _, err := decodePos(enc[:n], "pat*"); !errors.Is(err, cache.ErrBadCursor) {
				t.Errorf("truncated to %d of %d bytes: err = %v", n, len(enc), err)
			}
		}
		if _, err := decodePos(append(enc, 0), "pat*"); !errors.Is(err, cache.ErrBadCursor) {
			t.Errorf("trailing byte accepted: %v", err)
		}
	}
}

// TestListLargeKeyspace pages through thousands of keys among non-matching
// ones, on a single server and on a cluster, with small pages: every key is
// returned, none twice on one page, and only matching keys.
func TestListLargeKeyspace(t *testing.T) {
	for _, tc := range startTargets(t) {
		t.Run(tc.name, func(t *testing.T) {
			// A long operation timeout: the setup writes 6000 keys in one
			// batch.
			b := newBackend(t, tc.addrs, tc.cluster, func(o *Options) { o.OpTimeout = 10 * time.Second })
			const n, noise = 3000, 3000
			ops := make([]cache.Op, 0, n+noise)
			for i := range n {
				ops = append(ops, cache.Op{Key: fmt.Appendf(nil, "big:%05d", i), Val: fmt.Appendf(nil, "v%d", i)})
			}
			for i := range noise {
				ops = append(ops, cache.Op{Key: fmt.Appendf(nil, "noise:%05d", i), Val: []byte("x")})
			}
			if err := b.SetBatch(t.Context(), ops); err != nil {
				t.Fatal(err)
			}
			for _, opts := range []cache.ListOptions{
				{Pattern: "big:", Limit: 37},
				{Pattern: "big:*", Limit: 1000},
				{Pattern: "big:0[0-2]*", Limit: 50, WithValues: true},
				{Pattern: "*:00*7", Limit: 3},
			} {
				m, _ := cache.NewMatcher(opts.Pattern)
				want := 0
				for _, op := range ops {
					if m.Match(op.Key) {
						want++
					}
				}
				seen := map[string]bool{}
				for _, pg := range listAllPages(t, b, opts) {
					onPage := map[string]bool{}
					for _, e := range pg.Entries {
						k := string(e.Key)
						if onPage[k] {
							t.Fatalf("%q twice on one page", k)
						}
						onPage[k] = true
						seen[k] = true
						if !m.Match(e.Key) {
							t.Fatalf("pattern %q listed %q", opts.Pattern, k)
						}
						if opts.WithValues && string(e.Val) != "v"+strings.TrimLeft(k[len("big:"):], "0") && !(k == "big:00000" && string(e.Val) == "v0") {
							t.Fatalf("%q has value %q", k, e.Val)
						}
					}
					if len(pg.Partial) != 0 {
						t.Fatalf("Partial %v on a healthy backend", pg.Partial)
					}
				}
				if len(seen) != want {
					t.Errorf("pattern %q: listed %d distinct keys, want %d", opts.Pattern, len(seen), want)
				}
			}
		})
	}
}

// TestClusterBatchAndListSpanMasters: one SetNXBatch over keys of every
// master works in one call, and List returns keys from every master.
func TestClusterBatchAndListSpanMasters(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	b := newBackend(t, c.Addrs(), true)
	ctx := t.Context()
	ops := make([]cache.Op, 64)
	for i := range ops {
		ops[i] = cache.Op{Key: fmt.Appendf(nil, "span:%02d", i), Val: []byte{byte(i)}, TTL: time.Hour}
	}
	if err := b.SetNXBatch(ctx, ops); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.Err != nil || !op.Created {
			t.Fatalf("%q: Created %v, Err %v", op.Key, op.Created, op.Err)
		}
	}
	for _, n := range c.Nodes() {
		if k := keysOn(t, n, "span:*"); len(k) == 0 {
			t.Fatalf("no batch key landed on master %s: the test does not span masters", n.Addr())
		}
	}
	var listed []string
	for _, pg := range listAllPages(t, b, cache.ListOptions{Pattern: "span:", Limit: 10}) {
		for _, e := range pg.Entries {
			listed = append(listed, string(e.Key))
		}
	}
	slices.Sort(listed)
	if len(listed) != len(ops) {
		t.Fatalf("listed %d keys, want %d: %q", len(listed), len(ops), listed)
	}
	for i, k := range listed {
		if k != fmt.Sprintf("span:%02d", i) {
			t.Fatalf("listed[%d] = %q", i, k)
		}
	}
}

func TestListCaps(t *testing.T) {
	srv := redistest.Start(t)
	b := newBackend(t, []string{srv.Addr()}, false)
	ctx := t.Context()
	ops := make([]cache.Op, 25)
	for i := range ops {
		ops[i] = cache.Op{Key: fmt.Appendf(nil, "cap:%02d", i), Val: []byte("v")}
	}
	if err := b.SetBatch(ctx, ops); err != nil {
		t.Fatal(err)
	}
	pages := listAllPages(t, b, cache.ListOptions{Pattern: "cap:", Limit: 4, Max: 10})
	total := 0
	for _, pg := range pages {
		total += len(pg.Entries)
	}
	if last := pages[len(pages)-1]; total != 10 || !last.Truncated {
		t.Fatalf("Max 10 over 25 keys: %d keys, Truncated %v", total, last.Truncated)
	}
	// A deadline near its end still yields a page: one round trip at
	// least, so paging progresses.
	short, cancel := context.WithTimeout(ctx, testOpTimeout)
	defer cancel()
	pg, err := b.List(short, cache.ListOptions{Pattern: "cap:"})
	if err != nil || len(pg.Entries) == 0 {
		t.Fatalf("List under a short deadline = %d entries, %v", len(pg.Entries), err)
	}
	if _, err := b.List(ctx, cache.ListOptions{Pattern: "cap:[", Limit: 4}); !errors.Is(err, cache.ErrBadPattern) {
		t.Fatalf("bad glob: %v", err)
	}
	if got, _ := path.Match("cap:[", ""); got {
		t.Fatal("unreachable")
	}
}
