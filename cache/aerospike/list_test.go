package aerospike

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/mcdedup/mcdedup/cache"
)

// fakeSet is an in-memory stand-in for a scanned set: records spread over
// the 4096 partitions by digest, each partition in digest order, scanned
// with the semantics of a partition scan (resume after a digest, at most max
// records, done when the partition was read to its end).
type fakeSet struct {
	parts map[int][]scanRecord // sorted by digest
	scans int
	fail  map[int]error // partitions whose scan fails
}

func newFakeSet(keys []string) *fakeSet {
	f := &fakeSet{parts: map[int][]scanRecord{}, fail: map[int]error{}}
	for _, k := range keys {
		d := sha1.Sum([]byte(k))
		part := int(binary.LittleEndian.Uint16(d[:2]) % partitions)
		f.parts[part] = append(f.parts[part], scanRecord{digest: d[:], key: []byte(k), val: []byte("v:" + k)})
	}
	for _, recs := range f.parts {
		sort.Slice(recs, func(i, j int) bool { return bytes.Compare(recs[i].digest, recs[j].digest) < 0 })
	}
	return f
}

func (f *fakeSet) scan(_ context.Context, part int, after []byte, max int64, withValues bool,
	yield func(scanRecord) bool) (bool, error) {
	f.scans++
	if err := f.fail[part]; err != nil {
		return false, err
	}
	n := int64(0)
	for _, r := range f.parts[part] {
		if after != nil && bytes.Compare(r.digest, after) <= 0 {
			continue
		}
		if n == max {
			return false, nil // the server stopped at MaxRecords
		}
		n++
		if !withValues {
			r.val = nil
		}
		if !yield(r) {
			return false, nil
		}
	}
	return true, nil
}

// listAll pages through a listing of f.
func (f *fakeSet) listAll(t *testing.T, opts cache.ListOptions) ([]cache.Entry, []cache.ListPage) {
	t.Helper()
	var (
		entries []cache.Entry
		pages   []cache.ListPage
	)
	for range 100000 {
		o, err := cache.NormalizeList(opts)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := cache.NewMatcher(o.Pattern)
		cur, err := cache.ParseListCursor(o.Cursor)
		if err != nil {
			t.Fatal(err)
		}
		pos, err := decodePos(cur.Pos, o.Pattern)
		if err != nil {
			t.Fatal(err)
		}
		pg, err := listPage(context.Background(), f.scan, m, o, cur, pos, cache.DefaultOpTimeout)
		if err != nil {
			t.Fatalf("listPage: %v", err)
		}
		if len(pg.Entries) > o.Limit {
			t.Fatalf("page of %d entries over Limit %d", len(pg.Entries), o.Limit)
		}
		pages = append(pages, pg)
		entries = append(entries, pg.Entries...)
		if pg.Cursor == "" {
			return entries, pages
		}
		opts.Cursor = pg.Cursor
	}
	t.Fatal("listing did not end")
	return nil, nil
}

func TestListPaging(t *testing.T) {
	var keys []string
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("user:%04d", i), fmt.Sprintf("noise:%04d", i))
	}
	f := newFakeSet(keys)
	for _, tc := range []struct {
		opts cache.ListOptions
		want int
	}{
		{cache.ListOptions{Pattern: "user:", Limit: 1}, 3000},
		{cache.ListOptions{Pattern: "user:", Limit: 37}, 3000},
		{cache.ListOptions{Pattern: "user:", Limit: 1000, WithValues: true}, 3000},
		{cache.ListOptions{Pattern: "user:00?7"}, 10},
		{cache.ListOptions{Pattern: "*:0001"}, 2},
		{cache.ListOptions{Pattern: ""}, 6000},
	} {
		m, _ := cache.NewMatcher(tc.opts.Pattern)
		entries, _ := f.listAll(t, tc.opts)
		seen := map[string]bool{}
		for _, e := range entries {
			k := string(e.Key)
			if seen[k] {
				t.Fatalf("%+v: %q listed twice", tc.opts, k)
			}
			seen[k] = true
			if !m.Match(e.Key) {
				t.Fatalf("%+v: %q does not match", tc.opts, k)
			}
			if tc.opts.WithValues != (e.Val != nil) || (e.Val != nil && string(e.Val) != "v:"+k) {
				t.Fatalf("%+v: %q has value %q", tc.opts, k, e.Val)
			}
		}
		if len(seen) != tc.want {
			t.Errorf("%+v: %d keys, want %d", tc.opts, len(seen), tc.want)
		}
	}
}

func TestListMaxCap(t *testing.T) {
	var keys []string
	for i := range 100 {
		keys = append(keys, fmt.Sprintf("k%03d", i))
	}
	f := newFakeSet(keys)
	entries, pages := f.listAll(t, cache.ListOptions{Pattern: "k", Limit: 7, Max: 30})
	if len(entries) != 30 || !pages[len(pages)-1].Truncated {
		t.Fatalf("Max 30: %d entries, Truncated %v", len(entries), pages[len(pages)-1].Truncated)
	}
	for _, pg := range pages[:len(pages)-1] {
		if pg.Truncated {
			t.Fatal("Truncated before the last page")
		}
	}
	// Max above the key count: complete, not truncated.
	entries, pages = f.listAll(t, cache.ListOptions{Pattern: "k", Limit: 7, Max: 1000})
	if len(entries) != 100 || pages[len(pages)-1].Truncated {
		t.Fatalf("Max 1000: %d entries, Truncated %v", len(entries), pages[len(pages)-1].Truncated)
	}
}

func TestListScanErrors(t *testing.T) {
	var keys []string
	for i := range 2000 {
		keys = append(keys, fmt.Sprintf("k%04d", i))
	}
	f := newFakeSet(keys)
	boom := errors.New("boom")
	// Fail a partition holding keys, found by scanning for one.
	var failPart int
	for p := range partitions {
		if len(f.parts[p]) > 0 && p > 100 {
			failPart = p
			break
		}
	}
	f.fail[failPart] = boom
	m, _ := cache.NewMatcher("k")
	opts, _ := cache.NormalizeList(cache.ListOptions{Pattern: "k", Limit: 1000})

	// The first page collects entries before the failing partition and
	// ends there, with a cursor at that partition.
	pg, err := listPage(context.Background(), f.scan, m, opts, cache.ListCursor{}, scanPos{}, cache.DefaultOpTimeout)
	if err != nil || len(pg.Entries) == 0 || pg.Cursor == "" {
		t.Fatalf("first page: %d entries, cursor %q, %v", len(pg.Entries), pg.Cursor, err)
	}
	cur, _ := cache.ParseListCursor(pg.Cursor)
	pos, _ := decodePos(cur.Pos, "k")
	if pos.part > failPart {
		t.Fatalf("cursor at partition %d passed the failing %d", pos.part, failPart)
	}
	// A page that starts at the failing partition fails.
	_, err = listPage(context.Background(), f.scan, m, opts, cur, scanPos{part: failPart}, cache.DefaultOpTimeout)
	if !errors.Is(err, boom) {
		t.Fatalf("page at the failing partition: %v, want %v", err, boom)
	}
	// Once the partition heals, the listing completes with every key once.
	delete(f.fail, failPart)
	entries, _ := f.listAll(t, cache.ListOptions{Pattern: "k", Limit: 1000})
	if len(entries) != 2000 {
		t.Fatalf("%d entries after healing, want 2000", len(entries))
	}
}

func TestListCanceled(t *testing.T) {
	b := &Backend{opTimeout: cache.DefaultOpTimeout}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.List(ctx, cache.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a canceled context: %v", err)
	}
	b.closed.Store(true)
	if _, err := b.List(context.Background(), cache.ListOptions{}); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("List after Close: %v", err)
	}
	if _, err := b.List(context.Background(), cache.ListOptions{Pattern: "a["}); !errors.Is(err, cache.ErrBadPattern) {
		t.Fatalf("bad glob: %v", err)
	}
	if _, err := b.List(context.Background(), cache.ListOptions{Cursor: "!"}); !errors.Is(err, cache.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	d := sha1.Sum([]byte("x"))
	for _, p := range []scanPos{{}, {part: 17}, {part: 4095, after: d[:]}} {
		enc := p.encode(nil, "pat")
		got, err := decodePos(enc, "pat")
		if err != nil || got.part != p.part || !bytes.Equal(got.after, p.after) {
			t.Fatalf("round trip %+v -> %+v, %v", p, got, err)
		}
		if _, err := decodePos(enc, "other"); !errors.Is(err, cache.ErrBadCursor) {
			t.Errorf("accepted for another pattern: %v", err)
		}
		for n := 1; n < len(enc); n++ {
			if _, err := decodePos(enc[:n], "pat"); !errors.Is(err, cache.ErrBadCursor) {
				t.Errorf("truncated to %d bytes: %v", n, err)
			}
		}
	}
	bad := scanPos{part: partitions}.encode(nil, "pat")
	if _, err := decodePos(bad, "pat"); !errors.Is(err, cache.ErrBadCursor) {
		t.Errorf("partition %d accepted", partitions)
	}
	if !slices.Equal(scanPos{}.encode(nil, ""), scanPos{}.encode(nil, "")) {
		t.Error("encoding not deterministic")
	}
}
