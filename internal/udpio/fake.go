package udpio

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
)

// Fake is an in-memory BatchConn for the tests of packages built on udpio:
// tests push inbound datagrams and inspect what was written. Its WriteBatch
// runs the same partial-write and skip-on-error loop as Conn over a
// simulated sendmmsg whose limits and failures tests can set, so consumers
// can test their loss accounting. It is safe for concurrent use.
type Fake struct {
	local netip.AddrPort

	mu      sync.Mutex    // guards the fields below
	changed chan struct{} // closed and replaced on every Push, write and Close
	inbox   []Datagram    // pushed, not yet read
	written []Datagram    // copies of every datagram sent
	closed  bool

	writeLimit int                  // most messages per simulated sendmmsg; 0 = all
	writeErr   func(*Message) error // rejects a message; nil = accept all
	sendCalls  int                  // simulated sendmmsg calls
	drops      uint64               // reported by KernelDrops
}

// Datagram is one datagram with its source (inbound) or destination
// (written) address.
type Datagram struct {
	Addr netip.AddrPort
	Data []byte
}

var (
	_ BatchConn   = (*Fake)(nil)
	_ DropCounter = (*Fake)(nil)
)

// NewFake returns an open Fake whose LocalAddr is local.
func NewFake(local netip.AddrPort) *Fake {
	return &Fake{local: local, changed: make(chan struct{})}
}

// errFakeClosed satisfies errors.Is(err, net.ErrClosed).
var errFakeClosed = fmt.Errorf("udpio: fake: %w", net.ErrClosed)

// notifyLocked wakes every goroutine waiting for a change.
func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Push queues a copy of data as a datagram from src for ReadBatch. It fails
// once the Fake is closed.
func (f *Fake) Push(src netip.AddrPort, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errFakeClosed
	}
	f.inbox = append(f.inbox, Datagram{Addr: src, Data: slices.Clone(data)})
	f.notifyLocked()
	return nil
}

// Pending returns the number of pushed datagrams not yet read.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inbox)
}

// ReadBatch blocks until a datagram is queued or the Fake is closed, then
// moves up to len(msgs) datagrams into msgs like Conn.ReadBatch: a datagram
// longer than Buf is cut to len(Buf) and flagged Trunc.
func (f *Fake) ReadBatch(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.inbox) == 0 {
		if f.closed {
			return 0, errFakeClosed
		}
		ch := f.changed
		f.mu.Unlock()
		<-ch
		f.mu.Lock()
	}
	n := min(len(msgs), len(f.inbox))
	for i := range n {
		d, m := f.inbox[i], &msgs[i]
		m.N = copy(m.Buf, d.Data)
		m.Trunc = len(d.Data) > len(m.Buf)
		m.Addr = d.Addr
	}
	f.inbox = slices.Delete(f.inbox, 0, n)
	return n, nil
}

// WriteBatch records a copy of each message it sends, with the semantics of
// Conn.WriteBatch.
func (f *Fake) WriteBatch(msgs []Message) (int, error) {
	return writeAll(msgs, f.send)
}

// send simulates one sendmmsg: it accepts up to the write limit, stopping
// before the first message the write error rejects, and reports that error
// if it is the first.
func (f *Fake) send(msgs []Message) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, errFakeClosed
	}
	f.sendCalls++
	n := len(msgs)
	if f.writeLimit > 0 {
		n = min(n, f.writeLimit)
	}
	for i := range n {
		if f.writeErr != nil {
			if err := f.writeErr(&msgs[i]); err != nil {
				if i == 0 {
					return 0, err
				}
				n = i
				break
			}
		}
		f.written = append(f.written, Datagram{Addr: msgs[i].Addr, Data: slices.Clone(msgs[i].Buf)})
	}
	f.notifyLocked()
	return n, nil
}

// SetWriteLimit makes every simulated sendmmsg accept at most n messages,
// so WriteBatch must retry the tail. Zero means no limit.
func (f *Fake) SetWriteLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeLimit = n
}

// SetWriteError installs a function that rejects a message by returning an
// error, as the kernel rejects an unreachable destination; nil accepts all.
// It runs with the Fake locked and must not call the Fake.
func (f *Fake) SetWriteError(fn func(m *Message) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeErr = fn
}

// SendCalls returns the number of simulated sendmmsg calls so far.
func (f *Fake) SendCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sendCalls
}

// Written returns copies of all datagrams sent so far, in order.
func (f *Fake) Written() []Datagram {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.written)
}

// WaitWritten waits until at least n datagrams have been sent and returns
// them, or returns ctx's error (with those sent so far) if ctx ends first.
func (f *Fake) WaitWritten(ctx context.Context, n int) ([]Datagram, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.written) < n {
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
			f.mu.Lock()
		case <-ctx.Done():
			f.mu.Lock()
			return slices.Clone(f.written), fmt.Errorf("udpio: fake: %d of %d datagrams written: %w", len(f.written), n, ctx.Err())
		}
	}
	return slices.Clone(f.written), nil
}

// SetKernelDrops sets the value KernelDrops reports.
func (f *Fake) SetKernelDrops(n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drops = n
}

// KernelDrops returns the value set by SetKernelDrops.
func (f *Fake) KernelDrops() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drops
}

// LocalAddr returns the address given to NewFake.
func (f *Fake) LocalAddr() netip.AddrPort { return f.local }

// Close unblocks ReadBatch, which then returns net.ErrClosed once the queue
// is empty; later reads, writes and pushes fail with net.ErrClosed. Closing
// twice returns net.ErrClosed, as for sockets.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errFakeClosed
	}
	f.closed = true
	f.notifyLocked()
	return nil
}
