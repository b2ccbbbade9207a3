package udpio

import (
	"encoding/binary"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSyscalls reports, probed once per process, whether recvmmsg and
// sendmmsg exist. They are called on fd -1: EBADF means the kernel has them,
// while ENOSYS (old kernel) or EPERM (seccomp sandbox) means one-datagram
// recvmsg/sendmsg must do.
var batchSyscalls = sync.OnceValue(func() bool {
	usable := func(trap uintptr) bool {
		_, _, e := unix.Syscall6(trap, ^uintptr(0), 0, 0, 0, 0, 0)
		return e != unix.ENOSYS && e != unix.EPERM && e != unix.EACCES
	}
	return usable(unix.SYS_RECVMMSG) && usable(unix.SYS_SENDMMSG)
})

// oobSize is the control buffer of each received message: room for the
// SO_RXQ_OVFL counter with slack, a multiple of the cmsg alignment.
const oobSize = 64

// batch is the kernel-facing state of one direction of a Conn: message
// headers, iovecs, addresses and (reading) control buffers, allocated once so
// that a call allocates nothing. It is owned by the one goroutine that calls
// ReadBatch (or WriteBatch); the two directions never share a batch.
type batch struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []rawSockaddr
	oob   []byte // oobSize bytes per message; nil for the write side

	single bool // one datagram per call with recvmsg/sendmsg
	write  bool // sendmmsg/sendmsg rather than recvmmsg/recvmsg
	// flags are the flags of every call: for a blocking-mode read
	// MSG_WAITFORONE (wait for the first datagram only; recvmsg ignores
	// it), for a blocking-mode write MSG_NOSIGNAL (no SIGPIPE when a
	// shutdown by Close makes it fail with EPIPE).
	flags uintptr

	// count is the number of headers prepared for the next system call;
	// n and errno are its result, set by call.
	count int
	n     int
	errno syscall.Errno

	// fn is call bound once, so passing it to RawConn.Read or Write does
	// not allocate a closure per batch.
	fn func(fd uintptr) bool
}

func newBatch(size int, write, blocking bool) *batch {
	b := &batch{
		hdrs:   make([]unix.Mmsghdr, size),
		iovs:   make([]unix.Iovec, size),
		names:  make([]rawSockaddr, size),
		single: !batchSyscalls(),
		write:  write,
	}
	switch {
	case blocking && write:
		b.flags = unix.MSG_NOSIGNAL
	case blocking:
		b.flags = unix.MSG_WAITFORONE
	}
	if !write {
		b.oob = make([]byte, size*oobSize)
	}
	for i := range b.hdrs {
		h := &b.hdrs[i].Hdr
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		if !write {
			h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
			h.Control = &b.oob[i*oobSize]
		}
	}
	b.fn = b.call
	return b
}

// limit returns how many of n messages the next system call may move.
func (b *batch) limit(n int) int {
	if b.single {
		return min(n, 1)
	}
	return min(n, len(b.hdrs))
}

// setBuf points message i's iovec at buf. The iovec keeps pointing there
// until the slot is reused, which only delays the collection of a buffer the
// caller has dropped.
func (b *batch) setBuf(i int, buf []byte) {
	b.iovs[i].Base = unsafe.SliceData(buf)
	b.iovs[i].SetLen(len(buf))
}

// call makes one system call over hdrs[:count] on fd. It reports false on
// EAGAIN: the runtime poller then waits for the socket and calls again (a
// blocking-mode socket reports it only when SO_RCVTIMEO runs out).
func (b *batch) call(fd uintptr) bool {
	for {
		var (
			r uintptr
			e syscall.Errno
		)
		hdrs := uintptr(unsafe.Pointer(&b.hdrs[0]))
		switch {
		case b.single && b.write:
			_, _, e = unix.Syscall(unix.SYS_SENDMSG, fd, hdrs, b.flags)
			r = 1
		case b.single:
			r, _, e = unix.Syscall(unix.SYS_RECVMSG, fd, hdrs, b.flags&^unix.MSG_WAITFORONE)
			b.hdrs[0].Len = uint32(r) // recvmsg returns bytes, recvmmsg sets Len
			r = 1
		case b.write:
			r, _, e = unix.Syscall6(unix.SYS_SENDMMSG, fd, hdrs, uintptr(b.count), b.flags, 0, 0)
		default:
			r, _, e = unix.Syscall6(unix.SYS_RECVMMSG, fd, hdrs, uintptr(b.count), b.flags, 0, 0)
		}
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case 0:
			b.n = int(r)
		default:
			b.n = 0
		}
		b.errno = e
		return true
	}
}

// syscallName names the system call for errors.
func (b *batch) syscallName() string {
	switch {
	case b.single && b.write:
		return "sendmsg"
	case b.single:
		return "recvmsg"
	case b.write:
		return "sendmmsg"
	}
	return "recvmmsg"
}

// rxqOverflow finds the SO_RXQ_OVFL counter in a message's control data.
// The kernel attaches it only when the counter is nonzero.
func rxqOverflow(oob []byte) (uint32, bool) {
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= unix.CmsgLen(4) {
			return binary.NativeEndian.Uint32(oob[hdrLen:]), true
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return 0, false
}
