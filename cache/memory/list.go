package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/mcdedup/mcdedup/cache"
)

// List returns one page of the keys matching opts.Pattern in ascending byte
// order, with bounds from cache.NormalizeList.
//
// The cursor (cache.ListCursor) holds the last key returned and the count
// returned so far; the next page continues with the keys strictly after that
// key. The walk is therefore stable under concurrent writes: it never returns
// a key twice, returns every key that exists throughout the walk, and may miss
// keys written behind the cursor meanwhile. Each page scans every shard (a
// shard is locked while it is scanned) and keeps only the smallest Limit+1
// candidates, so a page costs O(keys) time but O(Limit) memory. Expired keys
// are skipped.
func (b *Backend) List(ctx context.Context, opts cache.ListOptions) (cache.ListPage, error) {
	if err := ctx.Err(); err != nil {
		return cache.ListPage{}, err
	}
	opts, err := cache.NormalizeList(opts)
	if err != nil {
		return cache.ListPage{}, err
	}
	m, _ := cache.NewMatcher(opts.Pattern) // validated by NormalizeList
	cur, err := cache.ParseListCursor(opts.Cursor)
	if err != nil {
		return cache.ListPage{}, err
	}
	if cur.Returned >= opts.Max {
		return cache.ListPage{Truncated: true}, nil
	}
	need := min(opts.Limit, opts.Max-cur.Returned)
	c := collector{keep: need + 1, after: string(cur.Pos), resume: opts.Cursor != ""}
	now := b.now()
	for i := range b.shards {
		if err := ctx.Err(); err != nil {
			return cache.ListPage{}, err
		}
		if err := b.shards[i].collect(&c, m, now); err != nil {
			return cache.ListPage{}, err
		}
	}
	found := c.sorted()
	more := len(found) > need
	found = found[:min(len(found), need)]

	page := cache.ListPage{Entries: make([]cache.Entry, len(found))}
	for i, f := range found {
		page.Entries[i].Key = []byte(f.key)
		if opts.WithValues {
			page.Entries[i].Val = clone(f.val)
		}
	}
	if more {
		returned := cur.Returned + len(found)
		if returned >= opts.Max {
			page.Truncated = true
		} else {
			page.Cursor = cache.ListCursor{Returned: returned, Pos: []byte(found[len(found)-1].key)}.String()
		}
	}
	return page, nil
}

// collect offers every live, unexpired key of s that matches m to c.
func (s *shard) collect(c *collector, m cache.Matcher, now int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cache.ErrClosed
	}
	for i := 1; i < len(s.entries); i++ {
		e := &s.entries[i]
		if e.live && !e.expired(now) {
			c.offer(e.key, e.val, m)
		}
	}
	return nil
}

// candidate is a key (and its immutable stored value) kept by a collector.
type candidate struct {
	key string
	val []byte
}

// collector keeps the keep smallest keys after a resume position. It buffers
// up to 2×keep candidates and then prunes to the keep smallest, remembering
// the largest survivor as a bound that later keys must beat: O(n log keep)
// time and O(keep) memory over n offered keys.
type collector struct {
	keep   int
	after  string // resume position: only keys > after count
	resume bool   // whether after applies (the empty key is a valid position)
	bound  string // once pruned, only keys < bound can still make the cut
	pruned bool
	buf    []candidate
}

func (c *collector) offer(key string, val []byte, m cache.Matcher) {
	if (c.resume && key <= c.after) || (c.pruned && key >= c.bound) || !m.MatchString(key) {
		return
	}
	c.buf = append(c.buf, candidate{key, val})
	if len(c.buf) >= 2*c.keep {
		c.prune()
	}
}

// prune keeps the keep smallest candidates, sorted.
func (c *collector) prune() {
	slices.SortFunc(c.buf, func(a, b candidate) int { return strings.Compare(a.key, b.key) })
	if len(c.buf) > c.keep {
		clear(c.buf[c.keep:]) // drop references to the pruned values
		c.buf = c.buf[:c.keep]
		c.bound, c.pruned = c.buf[c.keep-1].key, true
	}
}

// sorted returns the (at most keep) smallest candidates in ascending order.
func (c *collector) sorted() []candidate {
	c.prune()
	return c.buf
}
