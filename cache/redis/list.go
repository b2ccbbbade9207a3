package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
)

// Listing bounds per page.
const (
	// maxScanRounds bounds the SCAN round trips of one page, so that a
	// sparse pattern over a large keyspace returns a short (even empty)
	// page with a cursor instead of scanning for long.
	maxScanRounds = 100
	// minScanCount and maxScanCount bound the COUNT hint of one SCAN.
	minScanCount = 10
	maxScanCount = 1000
)

// node is one server a listing scans: the single server, or one master of
// a cluster.
type node struct {
	addr   string // "" for a single server
	client nodeClient
}

// nodeClient is what a listing needs of a go-redis client.
type nodeClient interface {
	Process(ctx context.Context, cmd goredis.Cmder) error
}

// List implements cache.Lister with SCAN MATCH … COUNT …: on the single
// server, or on every master of a cluster, one master after the other in
// address order.
//
// The MATCH pattern only prefilters on the server (Redis globs differ from
// path.Match: there '*' and '?' also match '/'); every key is then checked
// with path.Match semantics. A page holds at most Limit entries but may hold
// fewer, even none, while its cursor is non-empty: a page stops after 100
// SCAN round trips, or when the caller's deadline is near, so that a sparse
// pattern cannot stall a caller. Every page makes at least one round trip.
//
// The cursor names the master being scanned, its SCAN cursor, and the
// matching keys of the last SCAN reply that did not fit in the page (SCAN's
// COUNT is only a hint). SCAN's guarantees carry over: a key present for the
// whole listing is returned at least once; a key may be returned on two
// pages (the server rehashed meanwhile) but never twice on one page; keys
// written or deleted during the listing may or may not appear. On a cluster,
// a master that fails is reported in ListPage.Partial and the listing
// continues with the next one; when the master being scanned disappears
// between pages (failover, resharding), it is reported the same way and its
// remaining keys are missing. The listing fails only when every master
// failed and the page is empty.
//
// With WithValues the values are read with one pipeline of GETs per page;
// keys deleted since the scan are dropped from the page.
func (b *Backend) List(ctx context.Context, opts cache.ListOptions) (cache.ListPage, error) {
	opts, err := cache.NormalizeList(opts)
	if err != nil {
		return cache.ListPage{}, err
	}
	m, err := cache.NewMatcher(opts.Pattern)
	if err != nil {
		return cache.ListPage{}, err
	}
	cur, err := cache.ParseListCursor(opts.Cursor)
	if err != nil {
		return cache.ListPage{}, err
	}
	pos, err := decodePos(cur.Pos, opts.Pattern)
	if err != nil {
		return cache.ListPage{}, err
	}
	if err := b.begin(ctx); err != nil {
		return cache.ListPage{}, b.wrap("list", err)
	}
	room := min(opts.Limit, opts.Max-cur.Returned)
	if room <= 0 {
		return cache.ListPage{Truncated: true}, nil
	}
	p := &page{
		b:     b,
		m:     m,
		match: scanMatch(m),
		room:  room,
		seen:  make(map[string]struct{}),
		pos:   pos,
	}
	if err := p.fill(ctx); err != nil {
		return cache.ListPage{}, b.wrap("list", err)
	}
	if opts.WithValues {
		if err := p.values(ctx); err != nil {
			return cache.ListPage{}, b.wrap("list values", err)
		}
	}

	out := cache.ListPage{Entries: p.entries, Partial: p.partial}
	if !p.complete() {
		returned := cur.Returned + len(p.entries)
		if returned >= opts.Max {
			out.Truncated = true
		} else {
			c := cache.ListCursor{Returned: returned, Pos: p.pos.encode(nil, opts.Pattern)}
			out.Cursor = c.String()
		}
	}
	return out, nil
}

// page is the state of one List call.
type page struct {
	b     *Backend
	m     cache.Matcher
	match string // SCAN MATCH pattern

	room    int                 // entries the page may still take
	seen    map[string]struct{} // keys on this page, to drop SCAN repeats
	entries []cache.Entry
	partial []string
	pos     scanPos // where the listing resumes after this page

	rounds  int // SCAN round trips so far
	scanned int // keys SCAN returned so far
	matched int // of which matched
}

// complete reports whether the listing ends with this page.
func (p *page) complete() bool { return p.pos.done && len(p.pos.pending) == 0 }

// fill fills the page: keys left over by the previous page first, then
// SCAN rounds over the nodes from the cursor's position on.
func (p *page) fill(ctx context.Context) error {
	pending := p.pos.pending
	p.pos.pending = nil
	p.take(pending)
	if p.room == 0 || p.pos.done {
		return nil
	}

	nodes, err := p.b.listNodes(ctx)
	if err != nil {
		return err
	}
	i := 0
	if p.b.cluster != nil && p.pos.node != "" {
		i, _ = slices.BinarySearchFunc(nodes, p.pos.node, func(n node, addr string) int {
			return strings.Compare(n.addr, addr)
		})
		if i == len(nodes) || nodes[i].addr != p.pos.node {
			// The master being scanned is gone: its remaining keys are
			// missing; go on with the next master in address order.
			p.addPartial(p.pos.node)
		}
	}
	failed := 0
	var errs []error
	for ; i < len(nodes); i++ {
		n := nodes[i]
		if p.pos.node != n.addr {
			p.pos.node, p.pos.scan = n.addr, 0
		}
		done, err := p.scanNode(ctx, n)
		if err != nil {
			if p.b.cluster == nil {
				return err
			}
			failed++
			errs = append(errs, fmt.Errorf("%s: %w", n.addr, err))
			p.addPartial(n.addr)
			continue
		}
		if !done {
			return nil // page full or out of budget: resume at p.pos
		}
		if p.room == 0 {
			// Full right at the end of a node: resume with the next one.
			if i+1 < len(nodes) {
				p.pos.node, p.pos.scan = nodes[i+1].addr, 0
				return nil
			}
			break
		}
	}
	if failed > 0 && failed == len(nodes) && len(p.entries) == 0 {
		return fmt.Errorf("every master failed: %w", errors.Join(errs...))
	}
	p.pos.node, p.pos.scan, p.pos.done = "", 0, true
	return nil
}

// scanNode runs SCAN rounds on n from p.pos. It returns true when the node
// is complete (keys that did not fit are in p.pos.pending), false when the
// page is full or out of budget (p.pos says where to resume).
func (p *page) scanNode(ctx context.Context, n node) (done bool, err error) {
	for {
		// Every page makes at least one round trip, so paging always
		// progresses.
		if p.room == 0 || p.rounds >= maxScanRounds || (p.rounds > 0 && p.nearDeadline(ctx)) {
			return false, nil
		}
		keys, next, err := p.scan(ctx, n)
		if err != nil {
			return false, err
		}
		p.rounds++
		p.scanned += len(keys)
		var matched [][]byte
		for _, k := range keys {
			if p.m.MatchString(k) {
				matched = append(matched, []byte(k))
			}
		}
		p.matched += len(matched)
		p.pos.scan = next
		p.take(matched)
		if next == 0 {
			return true, nil
		}
	}
}

// take appends keys to the page while there is room, skipping keys already
// on it, and leaves the rest in p.pos.pending.
func (p *page) take(keys [][]byte) {
	for i, k := range keys {
		if _, dup := p.seen[string(k)]; dup {
			continue
		}
		if p.room == 0 {
			p.pos.pending = append(p.pos.pending, keys[i:]...)
			return
		}
		p.seen[string(k)] = struct{}{}
		p.entries = append(p.entries, cache.Entry{Key: k})
		p.room--
	}
}

// scan runs one SCAN round trip on n under the operation deadline. Its COUNT
// hint aims at filling the rest of the page in one reply, given the share of
// keys that matched so far, so that few keys are left over.
func (p *page) scan(ctx context.Context, n node) ([]string, uint64, error) {
	count := p.room
	if p.scanned > 0 {
		count = int(int64(p.room) * int64(p.scanned+1) / int64(p.matched+1))
	}
	count = min(max(count, minScanCount), maxScanCount)
	ctx, cancel := p.b.opContext(ctx)
	defer cancel()
	cmd := goredis.NewScanCmd(ctx, nil, "scan", p.pos.scan, "match", p.match, "count", count)
	if err := n.client.Process(ctx, noRetry{cmd}); err != nil {
		return nil, 0, err
	}
	keys, next, _ := cmd.Result()
	return keys, next, nil
}

// nearDeadline reports whether ctx ends within two operation timeouts: the
// page then stops with a cursor rather than fail on a round trip cut short.
func (p *page) nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < 2*p.b.opTimeout
}

// values reads the value of every entry with one pipeline of GETs (split by
// slot on a cluster) and drops the entries deleted since the scan. On a
// cluster, entries whose GET failed are dropped and their master reported in
// Partial.
func (p *page) values(ctx context.Context) error {
	if len(p.entries) == 0 {
		return nil
	}
	ops := make([]cache.Op, len(p.entries))
	for i, e := range p.entries {
		ops[i].Key = e.Key
	}
	if err := p.b.GetBatch(ctx, ops); err != nil && p.b.cluster == nil {
		return err
	}
	kept := p.entries[:0]
	for _, op := range ops {
		switch {
		case op.Err != nil:
			if p.b.cluster == nil {
				return op.Err
			}
			p.addPartial(p.b.masterAddr(ctx, op.Key))
		case op.Val != nil:
			kept = append(kept, cache.Entry{Key: op.Key, Val: op.Val})
		}
	}
	p.entries = kept
	return nil
}

// addPartial adds addr to the page's Partial list once.
func (p *page) addPartial(addr string) {
	if !slices.Contains(p.partial, addr) {
		p.partial = append(p.partial, addr)
	}
}

// listNodes returns the nodes a listing scans: the single server, or the
// cluster masters sorted by address.
func (b *Backend) listNodes(ctx context.Context) ([]node, error) {
	if b.cluster == nil {
		return []node{{client: b.client}}, nil
	}
	ctx, cancel := b.opContext(ctx)
	defer cancel()
	return b.masters(ctx)
}

// masters returns the masters of the cluster, sorted by address, from the
// client's view of the cluster (reloaded when stale).
func (b *Backend) masters(ctx context.Context) ([]node, error) {
	var (
		mu    sync.Mutex
		nodes []node
	)
	err := b.cluster.ForEachMaster(ctx, func(_ context.Context, c *goredis.Client) error {
		mu.Lock()
		nodes = append(nodes, node{addr: c.Options().Addr, client: c})
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, errors.New("cluster has no masters")
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.addr, b.addr) })
	return nodes, nil
}

// masterAddr names the master serving key, for Partial reports.
func (b *Backend) masterAddr(ctx context.Context, key []byte) string {
	c, err := b.cluster.MasterForKey(ctx, string(key))
	if err != nil {
		return "(unknown master)"
	}
	return c.Options().Addr
}
