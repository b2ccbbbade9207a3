package udpio

import (
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// errClosed is returned by every operation on a closed blocking-mode Conn.
var errClosed = fmt.Errorf("udpio: %w", net.ErrClosed)

// closedBit marks blockFD.state once Close has begun; the bits below it
// count the calls using the descriptor.
const closedBit = 1 << 63

// blockFD is the descriptor of a blocking-mode Conn (Options.Blocking): a
// blocking socket the runtime poller never sees, used with direct system
// calls that park the calling goroutine's thread in the kernel.
//
// The descriptor number must not be closed while a call may still use it:
// another open could reuse the number, and a late recvmmsg would then read
// someone else's file. So every use holds a reference (acquire/release), and
// Close only marks the descriptor closed and shuts the socket down, which
// makes blocked and future recvmmsg/sendmmsg calls return at once; close(2)
// runs when the last reference is released.
type blockFD struct {
	fd int

	// state is closedBit | the number of references held. Once closedBit is
	// set no reference is taken again, so the count reaches zero once and
	// whoever releases it closes fd.
	state atomic.Uint64
	// done is closed after close(2); closeErr is its result, written
	// before done is closed.
	done     chan struct{}
	closeErr error

	// deadline is the read deadline in Unix ns (0 = none): set by
	// SetReadDeadline from any goroutine, read by ReadBatch.
	deadline atomic.Int64
	// rcvtimeo is the SO_RCVTIMEO currently set on fd (0 = none). It is
	// owned by the goroutine in ReadBatch, the only one that sets it.
	rcvtimeo time.Duration
}

func newBlockFD(fd int) *blockFD {
	return &blockFD{fd: fd, done: make(chan struct{})}
}

// acquire takes a reference unless the descriptor is closed.
func (f *blockFD) acquire() bool {
	for {
		s := f.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if f.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// release drops a reference; the last one after Close closes fd.
func (f *blockFD) release() {
	if f.state.Add(^uint64(0)) == closedBit {
		if err := unix.Close(f.fd); err != nil {
			f.closeErr = fmt.Errorf("udpio: close: %w", err)
		}
		close(f.done)
	}
}

// closed reports whether Close has begun.
func (f *blockFD) closed() bool { return f.state.Load()&closedBit != 0 }

// close marks the descriptor closed, shuts the socket down for both
// directions (on Linux this wakes a receiver blocked in recvmmsg, even on an
// unconnected UDP socket, and a sender waiting for send buffer space), and
// waits until the calls in flight have returned and fd is closed. A second
// call returns errClosed at once.
func (f *blockFD) close() error {
	if !f.acquire() {
		return errClosed
	}
	if f.state.Or(closedBit)&closedBit != 0 { // another Close won
		f.release()
		return errClosed
	}
	// ENOTCONN on an unconnected socket: the shutdown flags are set and
	// the sleepers woken all the same.
	_ = unix.Shutdown(f.fd, unix.SHUT_RDWR)
	f.release()
	<-f.done
	return f.closeErr
}

// control runs fn on the descriptor while holding a reference.
func (f *blockFD) control(fn func(fd int) error) error {
	if !f.acquire() {
		return errClosed
	}
	defer f.release()
	return fn(f.fd)
}

// read makes b's receive call, blocking in the kernel until a datagram
// arrives, the read deadline passes or Close shuts the socket down.
func (f *blockFD) read(b *batch) error {
	if !f.acquire() {
		return errClosed
	}
	defer f.release()
	for {
		if err := f.armDeadline(); err != nil {
			return err
		}
		done := b.call(uintptr(f.fd))
		if f.closed() {
			// Whatever the call returned, the Conn is closed: after the
			// shutdown recvmmsg returns at once with one empty datagram
			// (end of file), which must not pass for a real one.
			return errClosed
		}
		if done {
			return nil
		}
		// EAGAIN: SO_RCVTIMEO ran out. Past the deadline that is a timeout;
		// otherwise the deadline moved meanwhile and the call is rearmed.
		d := f.deadline.Load()
		if d == 0 && f.rcvtimeo == 0 {
			b.n, b.errno = 0, unix.EAGAIN // no timeout set: should not happen, and must not spin
			return nil
		}
		if d != 0 && time.Now().UnixNano() >= d {
			return os.ErrDeadlineExceeded
		}
	}
}

// write makes b's send call, waiting in the kernel while the send buffer is
// full (back-pressure) until there is room or Close shuts the socket down.
func (f *blockFD) write(b *batch) error {
	if !f.acquire() {
		return errClosed
	}
	defer f.release()
	if !b.call(uintptr(f.fd)) {
		b.n, b.errno = 0, unix.EAGAIN // only with SO_SNDTIMEO, which udpio never sets
	}
	if b.errno != 0 && f.closed() {
		return errClosed // EPIPE after the shutdown
	}
	return nil
}

// setReadDeadline stores t for the next ReadBatch calls.
func (f *blockFD) setReadDeadline(t time.Time) error {
	if f.closed() {
		return errClosed
	}
	var d int64
	if !t.IsZero() {
		d = max(t.UnixNano(), 1) // 0 means none
	}
	f.deadline.Store(d)
	return nil
}

// armDeadline sets SO_RCVTIMEO to the time left until the read deadline
// (or clears it), so the next receive call waits no longer. It makes no
// system call while no deadline is set or the timeout is unchanged.
func (f *blockFD) armDeadline() error {
	d := f.deadline.Load()
	if d == 0 && f.rcvtimeo == 0 {
		return nil
	}
	var left time.Duration
	if d != 0 {
		if left = time.Duration(d - time.Now().UnixNano()); left <= 0 {
			return os.ErrDeadlineExceeded
		}
		left = max(left, time.Microsecond) // a zero timeval would mean "forever"
	}
	if left == f.rcvtimeo {
		return nil
	}
	tv := unix.NsecToTimeval(left.Nanoseconds()) // rounds up to a microsecond
	if err := setsockoptRaw(f.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, unsafe.Pointer(&tv), unsafe.Sizeof(tv)); err != nil {
		return fmt.Errorf("udpio: read deadline: %w", err)
	}
	f.rcvtimeo = left
	return nil
}
