package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// output is one sending socket. send writes a batch and returns the
// datagrams sent; a non-nil error is either a counted loss (the sender goes
// on) or, when fatal reports it, the end of this sender.
type output interface {
	send(msgs []udpio.Message) (sent int, err error)
	fatal(err error) bool
	close() error
}

// openOutput opens one socket for c's destination.
func openOutput(c *Config, dst netip.AddrPort) (output, error) {
	switch c.Proto {
	case ProtoUDP:
		network, bind := "udp4", netip.IPv4Unspecified()
		if dst.Addr().Is6() {
			network, bind = "udp6", netip.IPv6Unspecified()
		}
		// Blocking like the multicast output (fabric.NewEgress): sendmmsg
		// waits in the kernel when the send buffer is full.
		conn, err := udpio.Listen(network, netip.AddrPortFrom(bind, 0).String(), udpio.Options{
			Peer: dst, SendBuffer: c.Fabric.SendBuffer, BatchSize: c.Batch, Blocking: true,
		})
		if err != nil {
			return nil, err
		}
		return udpOut{conn}, nil
	case ProtoTCP:
		conn, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(dst))
		if err != nil {
			return nil, err
		}
		return &tcpOut{conn: conn, vec: make(net.Buffers, 0, c.Batch)}, nil
	default:
		fab := c.Fabric
		fab.Batch = c.Batch
		e, err := fabric.NewEgress(fab)
		if err != nil {
			return nil, err
		}
		return mcastOut{e}, nil
	}
}

// resolve returns the unicast destination of c (zero for multicast).
func resolve(c *Config) (netip.AddrPort, error) {
	if c.Proto == ProtoMulticast {
		return netip.AddrPort{}, nil
	}
	a, err := net.ResolveUDPAddr("udp", c.To)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-to %q: %w", c.To, err)
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// udpOut sends datagrams on a connected UDP socket.
type udpOut struct{ conn *udpio.Conn }

func (o udpOut) send(msgs []udpio.Message) (int, error) { return o.conn.WriteBatch(msgs) }
func (o udpOut) fatal(err error) bool                   { return errors.Is(err, net.ErrClosed) }
func (o udpOut) close() error                           { return o.conn.Close() }

// mcastOut multicasts each message to the group in its Addr on every
// fabric interface.
type mcastOut struct{ e *fabric.Egress }

func (o mcastOut) send(msgs []udpio.Message) (int, error) {
	n, _, err := o.e.Send(msgs)
	return n, err
}
func (o mcastOut) fatal(err error) bool { return errors.Is(err, net.ErrClosed) }
func (o mcastOut) close() error         { return o.e.Close() }

// tcpOut writes frames back to back on one connection (writev per batch):
// each frame is delimited by its own header (PROTOCOL §3.4).
type tcpOut struct {
	conn *net.TCPConn
	vec  net.Buffers // scratch, rebuilt for every batch
}

func (o *tcpOut) send(msgs []udpio.Message) (int, error) {
	o.vec = o.vec[:0]
	for i := range msgs {
		o.vec = append(o.vec, msgs[i].Buf)
	}
	v := o.vec // WriteTo consumes its receiver
	if _, err := v.WriteTo(o.conn); err != nil {
		return 0, err
	}
	return len(msgs), nil
}
func (o *tcpOut) fatal(error) bool { return true }
func (o *tcpOut) close() error     { return o.conn.Close() }
