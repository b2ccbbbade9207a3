package fabric

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// Egress multicasts batches of frames to their groups on every configured
// interface: one udpio.Conn per interface, with IP_MULTICAST_IF, loop, hop
// limit and send buffer set from Options. The sockets are blocking-mode
// (udpio.Options.Blocking): they are written in the hot loops, and outside
// the runtime poller a freed send buffer wakes no idle thread; a full send
// buffer makes Send wait in the kernel. Each worker goroutine owns its own
// Egress; an Egress is not safe for concurrent use (except Addr and Table).
type Egress struct {
	table frame.GroupTable
	conns []*udpio.Conn
}

// NewEgress validates o and opens one egress socket per interface, bound to
// o.Source (or the wildcard address) on an ephemeral port.
func NewEgress(o Options) (*Egress, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	table, _ := o.Table() // validated above
	network, bind := "udp6", netip.IPv6Unspecified()
	if table.IsIPv4() {
		network, bind = "udp4", netip.IPv4Unspecified()
	}
	if o.Source.IsValid() {
		bind = o.Source
	}
	e := &Egress{table: table}
	for _, iface := range o.ifaceList() {
		c, err := udpio.Listen(network, netip.AddrPortFrom(bind, 0).String(), udpio.Options{
			SendBuffer:         o.SendBuffer,
			MulticastInterface: iface,
			NoMulticastLoop:    !o.Loop,
			MulticastHops:      o.Hops,
			BatchSize:          o.Batch,
			Blocking:           true,
		})
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("fabric: egress socket on interface %q: %w", iface, err)
		}
		e.conns = append(e.conns, c)
	}
	return e, nil
}

// Addr returns the group address and port of group index idx. It does not
// allocate.
func (e *Egress) Addr(idx uint16) netip.AddrPort { return e.table.Addr(idx) }

// Table returns the group table the egress addresses frames with.
func (e *Egress) Table() frame.GroupTable { return e.table }

// Send writes every message (each addressed to its group in Addr) on every
// interface socket, in one sendmmsg batch per socket where possible. sent and
// failed count datagrams over all interfaces, so with k interfaces a fully
// sent batch gives sent = k×len(msgs). err is the first write error (a
// *udpio.WriteError, or one satisfying errors.Is(err, net.ErrClosed) after
// Close), nil when all were sent. It does not allocate unless a write fails.
func (e *Egress) Send(msgs []udpio.Message) (sent, failed int, err error) {
	for _, c := range e.conns {
		n, werr := c.WriteBatch(msgs)
		sent += n
		if werr != nil {
			failed += lost(werr, len(msgs)-n)
			if err == nil {
				err = werr
			}
		}
	}
	return sent, failed, err
}

// lost returns the messages a failed WriteBatch really lost: WriteError's
// count, or def for any other error. It is kept out of Send so that the
// error target escapes only on the failure path.
//
//go:noinline
func lost(err error, def int) int {
	var we *udpio.WriteError
	if errors.As(err, &we) {
		return we.Failed
	}
	return def
}

// LocalAddrs returns the bound address of each interface socket, in the
// order of Options.Ifaces: the sources receivers see.
func (e *Egress) LocalAddrs() []netip.AddrPort {
	out := make([]netip.AddrPort, len(e.conns))
	for i, c := range e.conns {
		out[i] = c.LocalAddr()
	}
	return out
}

// BufferShortfall reports, for a startup warning, whether the kernel granted
// less send buffer than asked (see udpio.Conn.BufferShortfall).
func (e *Egress) BufferShortfall() error {
	for _, c := range e.conns {
		if err := c.BufferShortfall(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every socket; it is safe to call more than once.
func (e *Egress) Close() error {
	var errs []error
	for _, c := range e.conns {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
