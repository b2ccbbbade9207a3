package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// The fast path runs the Batcher operations of a single server or a Redis
// Cluster over our own RESP2 pipelines instead of go-redis, which costs
// several allocations per key (a Cmd object, boxed arguments, reply
// parsing) and made the client, not the server, the bottleneck of the hot
// loops. Sentinel keeps the go-redis pipeline: the master moves on failover
// and go-redis follows it; Options.NoFastPath selects go-redis everywhere.
//
// A batch:
//
//  1. routes its ops to nodes: all to the server, or by hash slot to the
//     masters of a cluster through a slot table loaded from CLUSTER SLOTS;
//  2. takes one connection per node involved from the node's pool (see
//     pool.go: at most PoolSize, dialed on demand), all before writing
//     anything and in a fixed node order, so that two batches never wait on
//     each other's connections; then encodes each node's commands into its
//     connection's buffer and writes them in one write;
//  3. reads exactly one reply per command from each connection in turn
//     (the nodes work in parallel meanwhile: no goroutine per node), fills
//     in each Op and returns the connection to its pool;
//  4. on a cluster, re-sends once the commands a node refused with MOVED or
//     ASK to the node named (ASK with ASKING first), and refreshes the slot
//     table in the background after a MOVED or a connection failure.
//
// Deadlines: every connection's deadline is the batch deadline (the
// caller's, or OpTimeout from now when sooner); waiting for a free
// connection and dialing end at it too. When one node stalls until the
// deadline (a hung master), the nodes read after it get lateGrace more to
// deliver the replies they have most likely sent already, so a batch lasts
// at most its deadline plus lateGrace per further node, and a hung master
// fails only its own ops. A context canceled without a
// deadline is noticed while the batch takes its connections, not during the
// I/O, which the deadline bounds (watching ctx.Done during the I/O would
// cost allocations per batch); Close ends the I/O at once by closing the
// connections.
//
// Failures: a connection that fails (write, read, timeout, protocol error)
// fails every op of its node not yet answered with that error and is closed,
// never returned to the pool with replies unread. Nothing is ever re-sent
// after a failure: the server may have executed a command whose reply was
// lost, and a re-sent SET NX would then answer "exists" for a frame nobody
// forwarded. Re-sending after MOVED or ASK is not such a retry: those
// replies are the server refusing the command without executing it, so the
// command runs at most once, on the node that owns the key.

// opKind is the command of a batch.
type opKind uint8

const (
	opSetNX opKind = iota // SET key val NX [PX ms]
	opSet                 // SET key val [PX ms]
	opGet                 // GET key
)

// maxFreeScratch bounds the per-batch states kept for reuse: one per batch
// in flight (at most PoolSize per node), kept small since each holds a few
// slices as long as the largest batch.
const maxFreeScratch = 64

// newFastPath returns a fast path with no node yet.
func newFastPath() *fastPath {
	return &fastPath{scratch: make(chan *batchScratch, maxFreeScratch)}
}

// fastPath runs batches over pools of raw connections.
type fastPath struct {
	single  *nodePool          // the server; nil in cluster mode
	cluster *slotRouter        // the cluster's routing; nil for a single server
	scratch chan *batchScratch // free per-batch states, so that a batch allocates nothing

	redirected atomic.Uint64 // ops re-sent after MOVED or ASK (read by tests)
}

// group is the ops of one batch sent to one node on one connection.
type group struct {
	pool *nodePool
	idx  []int32 // positions in ops, in send order
	c    *conn   // the connection between write and read; nil once failed
}

// move is one op a node refused with MOVED or ASK.
type move struct {
	op   int32
	ask  bool
	pool *nodePool // the node named in the reply
}

// batchScratch is the reusable per-batch state.
type batchScratch struct {
	groups []group
	order  []int32 // op positions grouped by node; groups' idx are views into it
	node   []int32 // cluster: per op, its node's index in the slot table, -1 when none
	count  []int32 // cluster: per node of the table, its ops (then its end offset)
	moves  []move  // ops to re-send to another node
	ask    []bool  // per op, in a redirect round: send ASKING first
}

// run executes one batch: every op gets its result or its Err (unwrapped).
func (f *fastPath) run(ctx context.Context, kind opKind, ops []cache.Op, deadline time.Time) {
	var s *batchScratch
	select {
	case s = <-f.scratch:
	default:
		s = new(batchScratch)
	}
	s.order = grow(s.order, len(ops))
	s.groups, s.moves, s.ask = s.groups[:0], s.moves[:0], s.ask[:0]
	if f.cluster == nil {
		for i := range s.order {
			s.order[i] = int32(i)
		}
		s.groups = append(s.groups, group{pool: f.single, idx: s.order})
	} else {
		f.cluster.route(ops, s)
	}
	f.exec(ctx, kind, ops, s, deadline)
	if len(s.moves) > 0 {
		f.redirect(ctx, kind, ops, s, deadline)
	}
	clear(s.groups) // drop the pool pointers
	clear(s.moves)
	select {
	case f.scratch <- s:
	default: // as many batches in flight as ever: let it go
	}
}

// exec takes a connection of each group's node, then writes each group's
// commands, then reads every group's replies. All connections are taken
// before anything is written, so that no node's replies wait past the
// deadline while the batch waits for another node's connection.
func (f *fastPath) exec(ctx context.Context, kind opKind, ops []cache.Op, s *batchScratch, deadline time.Time) {
	for gi := range s.groups {
		g := &s.groups[gi]
		if err := ctx.Err(); err != nil {
			failOps(ops, g.idx, err)
			continue
		}
		c, err := g.pool.get(ctx, deadline)
		if err != nil {
			f.failed(ops, g, err)
			continue
		}
		g.c = c
	}
	for gi := range s.groups {
		g := &s.groups[gi]
		if g.c == nil {
			continue
		}
		g.c.wbuf = s.encode(g.c.wbuf[:0], kind, ops, g.idx)
		if _, err := g.c.nc.Write(g.c.wbuf); err != nil {
			g.pool.put(g.c, false)
			g.c = nil
			f.failed(ops, g, err)
		}
	}
	late := false // a node used up the deadline
	for gi := range s.groups {
		g := &s.groups[gi]
		if g.c == nil {
			continue
		}
		if late {
			// This node's replies, sent in parallel, are most likely
			// waiting in its socket: read them under a short grace
			// rather than fail its ops for another node's stall.
			_ = g.c.nc.SetReadDeadline(time.Now().Add(lateGrace))
		}
		n, err := f.read(g.c, kind, ops, g.idx, s)
		g.pool.put(g.c, err == nil)
		g.c = nil
		if err != nil {
			f.failed(ops, &group{pool: g.pool, idx: g.idx[n:]}, err)
			late = late || errors.Is(err, os.ErrDeadlineExceeded)
		}
	}
}

// lateGrace is how long a batch still reads a node's replies after an
// earlier node of the batch (a cluster master) stalled past the deadline.
// Replies already received are read at once; the margin covers a reader
// preempted or paused between setting the deadline and reading (a deadline
// already past fails the read even with replies waiting). A node that has
// not answered fails after the grace.
const lateGrace = 5 * time.Millisecond

// failed fails the ops of g after a connection failure on its node, and on
// a cluster asks for a fresh slot table (the node may have failed over).
func (f *fastPath) failed(ops []cache.Op, g *group, err error) {
	failOps(ops, g.idx, fmt.Errorf("%s: %w", g.pool.addr, err))
	if f.cluster != nil {
		f.cluster.refreshSoon()
	}
}

// failOps sets err on the ops at idx.
func failOps(ops []cache.Op, idx []int32, err error) {
	for _, i := range idx {
		ops[i].Err = err
	}
}

// encode appends the commands of the ops at idx.
func (s *batchScratch) encode(dst []byte, kind opKind, ops []cache.Op, idx []int32) []byte {
	for _, i := range idx {
		op := &ops[i]
		if len(s.ask) > 0 && s.ask[i] {
			dst = append(dst, respAsking...)
		}
		switch kind {
		case opSetNX:
			dst = appendSet(dst, op.Key, op.Val, op.TTL, true)
		case opSet:
			dst = appendSet(dst, op.Key, op.Val, op.TTL, false)
		default:
			dst = appendGet(dst, op.Key)
		}
	}
	return dst
}

// read reads the reply of each op at idx from c and applies it. It returns
// how many ops were answered before an I/O or protocol error, after which
// the connection is unusable.
func (f *fastPath) read(c *conn, kind opKind, ops []cache.Op, idx []int32, s *batchScratch) (int, error) {
	follow := f.cluster != nil && len(s.ask) == 0 // redirections are followed once
	for k, i := range idx {
		op := &ops[i]
		var askErr error
		if len(s.ask) > 0 && s.ask[i] {
			r, err := c.rd.next()
			if err != nil {
				return k, err
			}
			if !r.isOK() {
				if askErr, err = c.unexpected(r); err != nil {
					return k, err
				}
			}
		}
		r, err := c.rd.next()
		if err != nil {
			return k, err
		}
		if err := f.apply(c, kind, op, i, r, follow, s); err != nil {
			return k, err
		}
		if askErr != nil && op.Err == nil {
			op.Err = fmt.Errorf("ASKING: %w", askErr)
		}
	}
	return len(idx), nil
}

// apply sets the result of op (at position i) from its reply r. It returns
// an error only when reading the rest of the reply failed.
func (f *fastPath) apply(c *conn, kind opKind, op *cache.Op, i int32, r reply, follow bool, s *batchScratch) error {
	switch {
	case r.kind == replyError:
		op.Err = ServerError(r.line)
		if follow {
			if rd, ok := parseRedirect(r.line); ok {
				if p := f.cluster.poolFor(rd.addr); p != nil {
					s.moves = append(s.moves, move{op: i, ask: rd.ask, pool: p})
					f.redirected.Add(1)
				}
				if !rd.ask {
					f.cluster.refreshSoon() // the slot table is stale
				}
			}
		}
	case r.kind == replyStatus && kind != opGet && r.isOK():
		op.Created = kind == opSetNX
	case r.kind == replyNil && kind != opSet:
		// SET NX: the key exists (Created stays false); GET: a miss.
	case r.kind == replyBulk && kind == opGet:
		v, err := c.rd.value(r.n)
		if errors.Is(err, ErrValueTooLarge) {
			op.Err = fmt.Errorf("%w (%d bytes)", err, r.n)
			return nil
		}
		if err != nil {
			return err
		}
		op.Val = v
	default:
		var err error
		op.Err, err = c.unexpected(r)
		return err
	}
	return nil
}

// unexpected returns the per-op error of a reply the command cannot have,
// after consuming its body, or the error that consuming it met.
func (c *conn) unexpected(r reply) (opErr, ioErr error) {
	switch r.kind {
	case replyBulk:
		if err := c.rd.skip(r.n); err != nil {
			return nil, err
		}
		return fmt.Errorf("%w: bulk string of %d bytes", errUnexpectedReply, r.n), nil
	case replyError:
		return ServerError(r.line), nil
	case replyStatus:
		return fmt.Errorf("%w: %q", errUnexpectedReply, r.line), nil
	case replyInt:
		return fmt.Errorf("%w: integer %d", errUnexpectedReply, r.n), nil
	}
	return fmt.Errorf("%w: nil", errUnexpectedReply), nil
}

// redirect re-sends once, grouped by node, the ops refused with MOVED or
// ASK in the first round.
func (f *fastPath) redirect(ctx context.Context, kind opKind, ops []cache.Op, s *batchScratch, deadline time.Time) {
	slices.SortStableFunc(s.moves, func(a, b move) int { return cmp.Compare(a.pool.id, b.pool.id) })
	s.ask = grow(s.ask, len(ops))
	clear(s.ask)
	s.order = s.order[:len(s.moves)]
	s.groups = s.groups[:0]
	for k, m := range s.moves {
		s.order[k] = m.op
		s.ask[m.op] = m.ask
		ops[m.op].Err = nil
		if k == 0 || m.pool != s.moves[k-1].pool {
			s.groups = append(s.groups, group{pool: m.pool, idx: s.order[k:k]})
		}
		g := &s.groups[len(s.groups)-1]
		g.idx = g.idx[:len(g.idx)+1]
	}
	f.exec(ctx, kind, ops, s, deadline)
}

// close closes every connection of the fast path.
func (f *fastPath) close() {
	if f.single != nil {
		f.single.close()
	}
	if f.cluster != nil {
		f.cluster.close()
	}
}

// grow returns s with length n, reallocated only when too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
