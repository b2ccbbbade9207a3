//go:build !linux

package udpio

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

var errUnsupported = fmt.Errorf("udpio: only Linux is supported: %w", errors.ErrUnsupported)

// Conn is a UDP socket with batched I/O; only Linux implements it.
type Conn struct{}

var _ BatchConn = (*Conn)(nil)

// Listen returns errors.ErrUnsupported outside Linux.
func Listen(network, addr string, opts Options) (*Conn, error) { return nil, errUnsupported }

// ReadBatch is unsupported outside Linux.
func (c *Conn) ReadBatch(msgs []Message) (int, error) { return 0, errUnsupported }

// WriteBatch is unsupported outside Linux.
func (c *Conn) WriteBatch(msgs []Message) (int, error) { return 0, errUnsupported }

// LocalAddr is unsupported outside Linux.
func (c *Conn) LocalAddr() netip.AddrPort { return netip.AddrPort{} }

// Close is unsupported outside Linux.
func (c *Conn) Close() error { return errUnsupported }

// SetReadDeadline is unsupported outside Linux.
func (c *Conn) SetReadDeadline(t time.Time) error { return errUnsupported }

// KernelDrops is zero outside Linux.
func (c *Conn) KernelDrops() uint64 { return 0 }

// BufferSizes is zero outside Linux.
func (c *Conn) BufferSizes() (rcv, snd int) { return 0, 0 }

// BufferShortfall is unsupported outside Linux.
func (c *Conn) BufferShortfall() error { return errUnsupported }

// JoinGroup is unsupported outside Linux.
func (c *Conn) JoinGroup(group netip.Addr, iface string) error { return errUnsupported }

// LeaveGroup is unsupported outside Linux.
func (c *Conn) LeaveGroup(group netip.Addr, iface string) error { return errUnsupported }

// JoinSourceGroup is unsupported outside Linux.
func (c *Conn) JoinSourceGroup(group, source netip.Addr, iface string) error { return errUnsupported }

// LeaveSourceGroup is unsupported outside Linux.
func (c *Conn) LeaveSourceGroup(group, source netip.Addr, iface string) error { return errUnsupported }
