// Package relay is the kernel-limit baseline of the benchmarks: it receives
// unicast frames and multicasts each to its shard group with recvmmsg and
// sendmmsg, through the same fabric egress (routing and socket settings) as
// the proxy, and does nothing else — no dedup, no stamping, no metrics.
// Every throughput goal of the project is stated as a ratio to this relay
// measured in the same run.
package relay

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mcdedup/mcdedup/bench/internal/cli"
	"github.com/mcdedup/mcdedup/bench/internal/rx"
	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// MinFrame is the shortest datagram relayed: magic, version and the TxID
// (offsets 0–39) must be there to route it.
const MinFrame = 40

// maxDatagram is the receive buffer of one datagram (the UDP maximum, so
// nothing is truncated): workers × batch × 64 KiB, 4 MiB per worker at the
// default batch of 64.
const maxDatagram = 1 << 16

// Config describes a relay.
type Config struct {
	// Listen is the unicast ingress address (host:port; port 0 picks one).
	Listen string
	// Workers is the number of SO_REUSEPORT ingress sockets, one goroutine
	// and one fabric egress each.
	Workers int
	// Batch is the most datagrams per recvmmsg/sendmmsg.
	Batch int
	// Fabric says where and how frames are multicast.
	Fabric fabric.Options
}

// Validate checks c and returns an error naming the flag at fault.
func (c *Config) Validate() error {
	var p cli.Problems
	if c.Listen == "" {
		p.Add("listen", "an ingress address is needed")
	} else if _, err := net.ResolveUDPAddr("udp", c.Listen); err != nil {
		p.Add("listen", "%q: %v", c.Listen, err)
	}
	if c.Workers < 1 || c.Workers > 64 {
		p.Add("workers", "%d: must be 1–64", c.Workers)
	}
	if c.Batch < 1 || c.Batch > 1024 {
		p.Add("batch", "%d: must be 1–1024", c.Batch)
	}
	p.AddErr(c.Fabric.Validate())
	return p.Err()
}

// Relay is an opened relay: ingress sockets bound, egress sockets open.
type Relay struct {
	cfg    Config
	table  frame.GroupTable
	conns  []*udpio.Conn
	egress []*fabric.Egress
}

// Open validates cfg and opens every socket.
func Open(cfg Config) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Relay{cfg: cfg}
	r.table, _ = cfg.Fabric.Table()
	fab := cfg.Fabric
	fab.Batch = cfg.Batch
	addr := cfg.Listen
	for i := range cfg.Workers {
		// Blocking like the proxy's ingress: the same socket settings.
		c, err := udpio.Listen("udp", addr, udpio.Options{
			ReusePort: true, RecvBuffer: cfg.Fabric.RecvBuffer, BatchSize: cfg.Batch, Blocking: true,
		})
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("ingress socket %d: %w", i, err)
		}
		r.conns = append(r.conns, c)
		addr = c.LocalAddr().String() // the others share the first one's port
		e, err := fabric.NewEgress(fab)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.egress = append(r.egress, e)
	}
	return r, nil
}

// Addr returns the bound ingress address.
func (r *Relay) Addr() netip.AddrPort { return r.conns[0].LocalAddr() }

// KernelDrops returns the datagrams the kernel dropped at the ingress
// sockets (receive queues full): what the relay could not keep up with.
func (r *Relay) KernelDrops() uint64 {
	var n uint64
	for _, c := range r.conns {
		n += c.KernelDrops()
	}
	return n
}

// Close closes every socket, which ends Run's workers.
func (r *Relay) Close() {
	for _, c := range r.conns {
		c.Close()
	}
	for _, e := range r.egress {
		e.Close()
	}
}

// Run relays until ctx ends, then closes the relay.
func (r *Relay) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range r.conns {
		wg.Go(func() { r.work(r.conns[i], r.egress[i]) })
	}
	<-ctx.Done()
	r.Close()
	wg.Wait()
}

// work is one worker's loop; its one exit is the ingress socket closing.
func (r *Relay) work(in *udpio.Conn, out *fabric.Egress) {
	tx := make([]udpio.Message, r.cfg.Batch)
	bits := r.cfg.Fabric.Bits()
	rx.Loop(in, udpio.NewMessages(r.cfg.Batch, maxDatagram), func(batch []udpio.Message) {
		if m := route(batch, tx, bits, &r.table); m > 0 {
			out.Send(tx[:m]) // losses are the measurement, not an error
		}
	})
}

// route fills out with the datagrams of in that look like frames (at least
// MinFrame bytes, BRC magic, not truncated), each addressed to the shard
// group of its TxID, and returns how many. Anything else is dropped silently.
// It does not allocate.
func route(in, out []udpio.Message, bits uint, table *frame.GroupTable) int {
	m := 0
	for i := range in {
		b := in[i].Buf[:in[i].N]
		if in[i].Trunc || len(b) < MinFrame || binary.BigEndian.Uint32(b) != frame.Magic {
			continue
		}
		idx := frame.ShardIndex((*[32]byte)(b[8:40]), bits)
		out[m] = udpio.Message{Buf: b, Addr: table.Addr(uint16(idx))}
		m++
	}
	return m
}
