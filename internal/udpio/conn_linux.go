package udpio

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is a UDP socket with batched reads and writes. One goroutine may call
// ReadBatch while another calls WriteBatch; each of the two is
// single-goroutine. The other methods are safe for concurrent use.
type Conn struct {
	// The descriptor: pc and rc in the default mode (runtime poller), bfd
	// in blocking mode (Options.Blocking). Exactly one mode is set.
	pc  *net.UDPConn
	rc  syscall.RawConn
	bfd *blockFD

	family int // AF_INET or AF_INET6 (also for dual-stack sockets)
	local  netip.AddrPort

	// Requested (Options) and granted (getsockopt) buffer sizes; fixed
	// after Listen.
	rcvReq, sndReq, rcvBuf, sndBuf int

	// Read side, owned by the goroutine in ReadBatch.
	r        *batch
	zones    zoneNames
	lastOvfl uint32 // last SO_RXQ_OVFL counter seen

	// Write side, owned by the goroutine in WriteBatch.
	w    *batch
	send sendFunc // sendOnce, bound once

	drops atomic.Uint64 // kernel drops: written by the reader, read by anyone
}

var _ BatchConn = (*Conn)(nil)

// Listen opens a UDP socket for network "udp4", "udp6" or "udp" (on a
// wildcard address, dual stack: one AF_INET6 socket that also carries IPv4)
// bound to addr, with opts applied before bind. With opts.Blocking the
// socket is a blocking one outside the runtime poller (see the package
// documentation).
func Listen(network, addr string, opts Options) (*Conn, error) {
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, fmt.Errorf("udpio: listen: network %q is not udp, udp4 or udp6", network)
	}
	c := &Conn{
		rcvReq: opts.RecvBuffer,
		sndReq: opts.SendBuffer,
		r:      newBatch(opts.batchSize(), false, opts.Blocking),
		w:      newBatch(opts.batchSize(), true, opts.Blocking),
	}
	c.send = c.sendOnce
	if opts.Blocking {
		bfd, err := listenBlocking(network, addr, &opts)
		if err != nil {
			return nil, fmt.Errorf("udpio: %w", err)
		}
		c.bfd = bfd
	} else {
		lc := net.ListenConfig{Control: func(network, _ string, rc syscall.RawConn) error {
			return withFD(rc, func(fd int) error { return applyOptions(fd, network, &opts) })
		}}
		pc, err := lc.ListenPacket(context.Background(), network, addr)
		if err != nil {
			return nil, fmt.Errorf("udpio: %w", err) // a *net.OpError naming network and address
		}
		c.pc = pc.(*net.UDPConn)
		if c.rc, err = c.pc.SyscallConn(); err != nil {
			pc.Close()
			return nil, fmt.Errorf("udpio: %w", err)
		}
	}
	if err := c.init(&opts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// init reads back what the kernel made of the socket (family, local
// address, buffer sizes) and connects it to opts.Peer.
func (c *Conn) init(opts *Options) error {
	err := c.control(func(fd int) error {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return fmt.Errorf("udpio: getsockname: %w", err)
		}
		c.family = unix.AF_INET6
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			c.family = unix.AF_INET
			c.local = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
		case *unix.SockaddrInet6:
			a := netip.AddrFrom16(sa.Addr)
			if sa.ZoneId != 0 {
				a = a.WithZone(c.zones.name(sa.ZoneId))
			}
			c.local = netip.AddrPortFrom(a, uint16(sa.Port))
		}
		if c.rcvBuf, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err != nil {
			return fmt.Errorf("udpio: getsockopt SO_RCVBUF: %w", err)
		}
		if c.sndBuf, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil {
			return fmt.Errorf("udpio: getsockopt SO_SNDBUF: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.pc != nil {
		c.local = c.pc.LocalAddr().(*net.UDPAddr).AddrPort() // as before: zones by name
	}
	if opts.Peer.IsValid() {
		return c.connect(opts.Peer)
	}
	return nil
}

// control runs fn on the socket's descriptor and returns its error; after
// Close it fails with an error satisfying errors.Is(err, net.ErrClosed).
func (c *Conn) control(fn func(fd int) error) error {
	if c.bfd != nil {
		return c.bfd.control(fn)
	}
	return withFD(c.rc, fn)
}

// withFD runs fn on a runtime-poller socket's descriptor and returns its
// error.
func withFD(rc syscall.RawConn, fn func(fd int) error) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) { err = fn(int(fd)) }); cerr != nil {
		return fmt.Errorf("udpio: %w", cerr)
	}
	return err
}

// connect makes peer the default destination and the only source accepted.
func (c *Conn) connect(peer netip.AddrPort) error {
	return c.control(func(fd int) error {
		var sa rawSockaddr
		n, err := encodeSockaddr(&sa, c.family, peer, func(zone string) (uint32, error) { return ifindex(fd, zone) })
		if err == nil {
			_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(n))
			if e != 0 {
				err = e
			}
		}
		if err != nil {
			return fmt.Errorf("udpio: connect %v: %w", peer, err)
		}
		return nil
	})
}

// LocalAddr returns the address the socket is bound to.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// Close closes the socket; a blocked ReadBatch or WriteBatch returns an
// error satisfying errors.Is(err, net.ErrClosed). In blocking mode Close
// returns once the calls in flight have returned and the descriptor is
// closed.
func (c *Conn) Close() error {
	if c.bfd != nil {
		return c.bfd.close()
	}
	return c.pc.Close()
}

// SetReadDeadline makes ReadBatch return an error satisfying
// errors.Is(err, os.ErrDeadlineExceeded) once t has passed; the zero time
// means no deadline. In blocking mode the deadline applies from the next
// ReadBatch call: a call already blocked keeps the deadline it started with
// (only Close interrupts it).
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.bfd != nil {
		return c.bfd.setReadDeadline(t)
	}
	return c.pc.SetReadDeadline(t)
}

// KernelDrops returns how many datagrams the kernel has dropped for this
// socket (receive queue full and the like), as SO_RXQ_OVFL reports them on
// the datagrams that follow a drop. It is cheap (one atomic load).
func (c *Conn) KernelDrops() uint64 { return c.drops.Load() }

// ReadBatch reads at least one datagram, blocking until one arrives, and
// fills msgs[:n] (Buf contents, N, Addr, Trunc). It reads at most
// Options.BatchSize datagrams per call, and exactly one in the fallback mode.
// It must not be called by more than one goroutine at a time.
func (c *Conn) ReadBatch(msgs []Message) (int, error) {
	b := c.r
	k := b.limit(len(msgs))
	if k == 0 {
		return 0, nil
	}
	for i := range k {
		b.setBuf(i, msgs[i].Buf)
		h := &b.hdrs[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(oobSize)
		h.Flags = 0
	}
	b.count = k
	if err := c.call(b); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, os.NewSyscallError(b.syscallName(), b.errno)
	}
	for i := range b.n {
		h := &b.hdrs[i]
		m := &msgs[i]
		m.N = int(h.Len)
		m.Trunc = h.Hdr.Flags&unix.MSG_TRUNC != 0
		m.Addr = decodeSockaddr(&b.names[i], &c.zones)
		if ovfl, ok := rxqOverflow(b.oob[i*oobSize : i*oobSize+int(h.Hdr.Controllen)]); ok {
			c.observeDrops(ovfl)
		}
	}
	return b.n, nil
}

// observeDrops turns the kernel's cumulative 32-bit drop counter into
// increments of the 64-bit KernelDrops total, surviving wrap-around.
func (c *Conn) observeDrops(counter uint32) {
	if delta := counter - c.lastOvfl; delta != 0 {
		c.lastOvfl = counter
		c.drops.Add(uint64(delta))
	}
}

// WriteBatch sends every message to its Addr (or the connected peer when
// Addr is the zero value) and returns the number sent. A partial sendmmsg is
// retried from the first unsent message; a message the kernel rejects (or
// whose address does not fit the socket) is skipped and the rest are still
// sent. err is nil if and only if all were sent, else a *WriteError counting
// the losses. If the socket is closed mid-batch the unsent rest counts as
// failed and the error satisfies errors.Is(err, net.ErrClosed). While the
// send buffer is full it waits, through the runtime poller or, in blocking
// mode, in the kernel. It must not be called by more than one goroutine at a
// time.
func (c *Conn) WriteBatch(msgs []Message) (int, error) {
	return writeAll(msgs, c.send)
}

// sendOnce is the sendFunc under WriteBatch: one sendmmsg (or sendmsg) over
// a prefix of msgs.
func (c *Conn) sendOnce(msgs []Message) (int, error) {
	b := c.w
	k := b.limit(len(msgs))
	for i := range k {
		m := &msgs[i]
		h := &b.hdrs[i].Hdr
		b.setBuf(i, m.Buf)
		if !m.Addr.Addr().IsValid() {
			h.Name, h.Namelen = nil, 0
			continue
		}
		n, err := encodeSockaddr(&b.names[i], c.family, m.Addr, c.zoneIndex)
		if err != nil {
			if i == 0 {
				return 0, fmt.Errorf("destination %v: %w", m.Addr, err)
			}
			k = i // send the good prefix; the bad message comes first next call
			break
		}
		h.Name, h.Namelen = (*byte)(unsafe.Pointer(&b.names[i])), n
	}
	b.count = k
	if err := c.call(b); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, os.NewSyscallError(b.syscallName(), b.errno)
	}
	return b.n, nil
}

// call makes b's prepared system call: directly on a blocking-mode socket,
// else through the runtime poller, which waits while it would block. An
// error is about the socket (closed, deadline); b.errno is the call's.
func (c *Conn) call(b *batch) error {
	switch {
	case c.bfd != nil && b.write:
		return c.bfd.write(b)
	case c.bfd != nil:
		return c.bfd.read(b)
	case b.write:
		return c.rc.Write(b.fn)
	}
	return c.rc.Read(b.fn)
}

// zoneIndex resolves a named IPv6 zone of a destination to its interface
// index in the socket's namespace. Numeric zones (the ones ReadBatch
// produces) never get here.
func (c *Conn) zoneIndex(zone string) (uint32, error) {
	var idx uint32
	err := c.control(func(fd int) (err error) {
		idx, err = ifindex(fd, zone)
		return err
	})
	return idx, err
}
