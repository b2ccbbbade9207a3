package redis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// dialBackoff is the least time between two dials of one node after a
// failed dial: while a node is down a batch fails at once with the last dial
// error instead of paying a dial (a refusal, or DialTimeout) every time.
const dialBackoff = 100 * time.Millisecond

// dialFairShare is the time a dial must have had for its timeout to count
// against the node: a node that does not connect within it (a hung host
// whose accept queue is full, packets dropped) backs off like one that
// refuses, while one dialed with less, because an earlier node of the batch
// used the time up, does not.
const dialFairShare = 10 * time.Millisecond

// Buffer sizes of a fast-path connection.
const (
	// readBufSize is the reply buffer: 64 SET NX replies take 320 bytes, so
	// one read usually drains a whole batch's replies.
	readBufSize = maxReplyLine
	// initialWriteBuf is the first size of the command buffer (a batch of
	// 64 claims is about 7 KiB; it grows as needed).
	initialWriteBuf = 8 << 10
	// maxKeptWriteBuf bounds the command buffer a connection keeps between
	// batches, so that one batch of large values does not pin its size.
	maxKeptWriteBuf = 1 << 20
)

// errPoolClosed is returned by a pool of a closed Backend.
var errPoolClosed = fmt.Errorf("redis: connection pool closed: %w", cache.ErrClosed)

// poolConfig is what the fast path's pools take from Options.
type poolConfig struct {
	size        int           // connections per node, in use or idle
	dialTimeout time.Duration // bounds a dial and its AUTH, within the batch deadline
	password    string        // AUTH when non-empty
	dialer      func(ctx context.Context, network, addr string) (net.Conn, error)
	maxValue    int64 // longest GET value read into memory
}

// nodePool is the bounded pool of fast-path connections to one server node.
// A connection serves one batch at a time: taken with get, returned with put
// once every reply it was sent has been read, or discarded. Connections are
// dialed on demand, at most cfg.size exist at once, and a batch that finds
// them all in use waits for one until its deadline.
type nodePool struct {
	addr string
	id   uint64 // creation order: batches take the connections of several nodes in id order, so they cannot deadlock
	cfg  *poolConfig

	tokens chan struct{} // one token per connection in use; capacity cfg.size
	done   chan struct{} // closed by close: waiters give up

	mu        sync.Mutex         // guards the fields below
	idle      []*conn            // connections ready for use, most recently used last
	all       map[*conn]struct{} // every open connection, idle or in use, for close
	closed    bool               // close was called: no new connections
	retired   bool               // the node left the cluster map: connections are closed when put back
	dialAfter time.Time          // no dial before this time (backoff after a failed dial)
	dialErr   error              // the last dial failure, returned while backing off
}

func newNodePool(addr string, id uint64, cfg *poolConfig) *nodePool {
	return &nodePool{
		addr:   addr,
		id:     id,
		cfg:    cfg,
		tokens: make(chan struct{}, cfg.size),
		done:   make(chan struct{}),
		all:    make(map[*conn]struct{}),
	}
}

// get returns a connection for one batch, waiting for a free one until
// deadline (or ctx ends). The connection's deadline is set to deadline.
func (p *nodePool) get(ctx context.Context, deadline time.Time) (*conn, error) {
	// An earlier node of the batch may have used up its deadline: taking a
	// connection now would only set a past deadline on it (and fail, and
	// close it) or dial with no time left.
	if !time.Now().Before(deadline) {
		return nil, fmt.Errorf("%s: batch deadline passed before its turn: %w", p.addr, os.ErrDeadlineExceeded)
	}
	select {
	case p.tokens <- struct{}{}:
	default:
		if err := p.wait(ctx, deadline); err != nil {
			return nil, err
		}
	}
	c, err := p.take(ctx, deadline)
	if err != nil {
		<-p.tokens
		return nil, err
	}
	if err := c.nc.SetDeadline(deadline); err != nil {
		p.put(c, false)
		return nil, err
	}
	return c, nil
}

// wait blocks until a token is free, deadline passes, ctx ends or the pool
// closes. Only a batch that finds the pool exhausted pays for its timer.
func (p *nodePool) wait(ctx context.Context, deadline time.Time) error {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case p.tokens <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("all %d connections busy until the deadline: %w", p.cfg.size, context.DeadlineExceeded)
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return errPoolClosed
	}
}

// take returns an idle connection that is still healthy, or dials one.
// The caller holds a token.
func (p *nodePool) take(ctx context.Context, deadline time.Time) (*conn, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errPoolClosed
		}
		var c *conn
		if n := len(p.idle); n > 0 {
			c, p.idle[n-1], p.idle = p.idle[n-1], nil, p.idle[:n-1]
		}
		p.mu.Unlock()
		if c == nil {
			return p.dial(ctx, deadline)
		}
		if c.healthy() {
			return c, nil
		}
		p.discard(c) // closed by the server meanwhile: nothing was sent on it
	}
}

// put returns a connection after a batch. ok means every reply sent on it
// was read and the stream is aligned; otherwise the connection is closed.
func (p *nodePool) put(c *conn, ok bool) {
	if cap(c.wbuf) > maxKeptWriteBuf {
		c.wbuf = nil
	}
	if ok {
		p.mu.Lock()
		if !p.closed && !p.retired {
			p.idle = append(p.idle, c)
			p.mu.Unlock()
			<-p.tokens
			return
		}
		p.mu.Unlock()
	}
	p.discard(c)
	<-p.tokens
}

// discard closes c and forgets it.
func (p *nodePool) discard(c *conn) {
	p.mu.Lock()
	delete(p.all, c)
	p.mu.Unlock()
	_ = c.nc.Close()
}

// dial opens a connection within DialTimeout and deadline, unless the node
// failed a dial less than dialBackoff ago.
func (p *nodePool) dial(ctx context.Context, deadline time.Time) (*conn, error) {
	now := time.Now()
	p.mu.Lock()
	if now.Before(p.dialAfter) {
		err := p.dialErr
		p.mu.Unlock()
		return nil, fmt.Errorf("not redialed within %v of a failed dial: %w", dialBackoff, err)
	}
	p.mu.Unlock()

	batchCut := true // the batch's deadline, not DialTimeout, bounds this dial
	if dl := now.Add(p.cfg.dialTimeout); dl.Before(deadline) {
		deadline, batchCut = dl, false
	}
	fair := deadline.Sub(now) >= dialFairShare
	c, err := p.connect(ctx, deadline)
	if err != nil {
		// The caller giving up, or its batch running out of time before
		// the dial had a fair share (an earlier node took it), says
		// nothing of this node: no backoff.
		if ctx.Err() == nil && (!batchCut || fair || time.Now().Before(deadline)) {
			p.mu.Lock()
			p.dialAfter, p.dialErr = time.Now().Add(dialBackoff), err
			p.mu.Unlock()
		}
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = c.nc.Close()
		return nil, errPoolClosed
	}
	p.all[c] = struct{}{}
	p.mu.Unlock()
	return c, nil
}

// connect dials the node and authenticates before deadline. The database is
// always 0, where a connection starts, so no SELECT is sent.
func (p *nodePool) connect(ctx context.Context, deadline time.Time) (*conn, error) {
	var (
		nc  net.Conn
		err error
	)
	if p.cfg.dialer != nil {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		nc, err = p.cfg.dialer(dctx, "tcp", p.addr)
		cancel()
	} else {
		d := net.Dialer{Deadline: deadline}
		nc, err = d.DialContext(ctx, "tcp", p.addr)
	}
	if err != nil {
		return nil, err // a net.OpError names the address
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // Go's default, made explicit: a batch is one write
	}
	c := newConn(nc, p.cfg.maxValue)
	if p.cfg.password != "" {
		if err := c.auth(p.cfg.password, deadline); err != nil {
			_ = nc.Close()
			return nil, err
		}
	}
	return c, nil
}

// close closes every connection, idle or in use (a batch reading from one
// fails at once), and makes waiters and later gets fail.
func (p *nodePool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	all := p.all
	p.all, p.idle = nil, nil
	p.mu.Unlock()
	close(p.done)
	for c := range all {
		_ = c.nc.Close()
	}
}

// retire closes the idle connections of a node that left the cluster map;
// batches still using the pool finish and their connections are closed when
// put back.
func (p *nodePool) retire() {
	p.mu.Lock()
	p.retired = true
	idle := p.idle
	p.idle = nil
	for _, c := range idle {
		delete(p.all, c)
	}
	p.mu.Unlock()
	for _, c := range idle {
		_ = c.nc.Close()
	}
}

// open returns the number of open connections, idle or in use.
func (p *nodePool) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// conn is one fast-path connection with its reusable buffers. It has no
// lock: between get and put it belongs to one batch, and idle it is touched
// only under its pool's mu.
type conn struct {
	nc   net.Conn
	rd   respReader
	wbuf []byte // the commands of the current batch

	raw   syscall.RawConn       // the socket, for the liveness probe; nil for a custom net.Conn
	probe func(fd uintptr) bool // c.probeFD, bound once so that the probe does not allocate
	alive bool                  // the last probe's verdict
	pbuf  [1]byte               // the probe's read buffer
}

func newConn(nc net.Conn, maxValue int64) *conn {
	c := &conn{
		nc:   nc,
		rd:   respReader{br: bufio.NewReaderSize(nc, readBufSize), maxValue: maxValue},
		wbuf: make([]byte, 0, initialWriteBuf),
	}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.probe = c.probeFD
		}
	}
	return c
}

// healthy reports whether an idle connection can be used: it holds no
// unread bytes and the server has not closed it (a restarted server leaves
// its old connections closed; finding that out before sending spares the
// batch a failure, and re-sends nothing since nothing was sent).
func (c *conn) healthy() bool {
	if c.rd.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	// The connection still carries the deadline of its last batch, and
	// RawConn.Read fails at once once that has passed, before probing: an
	// idle connection would count as dead and be redialed. get sets the
	// new batch's deadline right after.
	if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
		return false
	}
	c.alive = false
	if err := c.raw.Read(c.probe); err != nil {
		return false
	}
	return c.alive
}

// auth sends AUTH password and checks for +OK.
func (c *conn) auth(password string, deadline time.Time) error {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err := c.nc.Write(appendCommand(nil, "AUTH", password)); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	r, err := c.rd.next()
	switch {
	case err != nil:
		return fmt.Errorf("auth: %w", err)
	case r.kind == replyError:
		return fmt.Errorf("auth: %w", ServerError(r.line))
	case r.kind == replyBulk:
		return fmt.Errorf("auth: %w", errProtocol)
	case !r.isOK():
		return fmt.Errorf("auth: %w", errUnexpectedReply)
	}
	return nil
}
