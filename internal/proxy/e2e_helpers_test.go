package proxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// e2eBits is the shard width of end-to-end tests: 16 groups plus the
// control groups stay under net.ipv4.igmp_max_memberships (20).
const e2eBits = 4

var groupBase atomic.Uint32 // distinct IPv4 group ranges per test

// e2eFabric returns loopback IPv4 fabric options on a fresh group range
// and a free port, so tests (and other packages' tests) never cross.
func e2eFabric(t testing.TB) fabric.Options {
	o := fabric.Defaults()
	n := groupBase.Add(1)
	o.IPv4Base = netip.AddrFrom4([4]byte{239, 78, byte(n), 0})
	o.ShardBits = e2eBits
	o.Port = freeUDPPort(t)
	o.Ifaces = []string{"lo"}
	o.Loop = true
	return o
}

// freeUDPPort returns a UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) uint16 {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// e2eOptions returns Options for a real proxy on loopback.
func e2eOptions(t testing.TB, fab fabric.Options) Options {
	return Options{
		Listen:     "127.0.0.1:0",
		Workers:    2,
		RecvBuffer: 8 << 20,
		Fabric:     fab,
		FlowSource: netip.MustParseAddr("127.0.0.1"),
		FragMTU:    1500,
		DedupCap:   1 << 20,
		DrainQuiet: 20 * time.Millisecond,
	}
}

// liveProxy is a real proxy running in the background.
type liveProxy struct {
	*Proxy
	reg  *prometheus.Registry
	done chan error
}

// startProxy builds and runs a proxy; it is closed when the test ends.
func startProxy(t testing.TB, o Options, deps Deps) *liveProxy {
	t.Helper()
	reg := prometheus.NewRegistry()
	deps.Registerer = reg
	p, err := New(o, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	lp := &liveProxy{Proxy: p, reg: reg, done: make(chan error, 1)}
	go func() { lp.done <- p.Run(context.Background()) }()
	t.Cleanup(func() {
		p.Close()
		select {
		case <-lp.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return lp
}

// counter reads one of the proxy's counters.
func (lp *liveProxy) counter(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// received is one datagram a tap got, with the group index it was sent to.
type received struct {
	group uint16
	data  []byte
}

// tap receives the groups of a fabric on loopback: one socket per group,
// bound to the group address so it gets exactly that group's datagrams.
type tap struct {
	mu    sync.Mutex
	got   []received // guarded by mu
	count atomic.Int64
	conns []*udpio.Conn
	wg    sync.WaitGroup
}

// openTap joins every shard group of fab and the extra indices.
func openTap(t testing.TB, fab fabric.Options, extra ...uint16) *tap {
	t.Helper()
	tp, err := newTap(fab, extra...)
	if err != nil {
		t.Fatalf("tap: %v", err)
	}
	t.Cleanup(tp.close)
	return tp
}

// newTap is openTap without a test, for use inside a network namespace.
func newTap(fab fabric.Options, extra ...uint16) (*tap, error) {
	table, err := fab.Table()
	if err != nil {
		return nil, err
	}
	tp := &tap{}
	idxs := extra
	for i := range fab.Groups() {
		idxs = append(idxs, uint16(i))
	}
	network := "udp4"
	if !table.IsIPv4() {
		network = "udp6"
	}
	for _, idx := range idxs {
		addr := table.Addr(idx)
		c, err := udpio.Listen(network, addr.String(), udpio.Options{RecvBuffer: 8 << 20, ReusePort: true})
		if err != nil {
			tp.close()
			return nil, err
		}
		tp.conns = append(tp.conns, c)
		for _, iface := range fab.Ifaces {
			if err := c.JoinGroup(addr.Addr(), iface); err != nil {
				tp.close()
				return nil, fmt.Errorf("join %v: %w", addr, err)
			}
		}
		tp.wg.Add(1)
		go tp.read(c, idx)
	}
	return tp, nil
}

func (tp *tap) read(c *udpio.Conn, idx uint16) {
	defer tp.wg.Done()
	msgs := udpio.NewMessages(64, 65536)
	for {
		n, err := c.ReadBatch(msgs)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		tp.mu.Lock()
		for _, m := range msgs[:n] {
			tp.got = append(tp.got, received{group: idx, data: append([]byte(nil), m.Payload()...)})
		}
		tp.mu.Unlock()
		tp.count.Add(int64(n))
	}
}

func (tp *tap) close() {
	for _, c := range tp.conns {
		c.Close()
	}
	tp.wg.Wait()
}

// kernelDrops sums the tap sockets' kernel drops.
func (tp *tap) kernelDrops() uint64 {
	var n uint64
	for _, c := range tp.conns {
		n += c.KernelDrops()
	}
	return n
}

// wait waits until the tap has at least n datagrams and a short quiet
// period has passed (late duplicates would show), or fails after timeout.
func (tp *tap) wait(t testing.TB, n int, timeout time.Duration) []received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for tp.count.Load() < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("tap got %d datagrams of %d within %v (tap kernel drops %d)", tp.count.Load(), n, timeout, tp.kernelDrops())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]received(nil), tp.got...)
}

// e2eFrame returns unique frame i: its TxID carries i in bytes 12–19, its
// shard comes from a hash of i, its subtree is one of three, and its
// payload (40–400 bytes) is derived from i, so a receiver can rebuild the
// exact input from the TxID.
func e2eFrame(i uint64) []byte {
	id := txid(i, uint32(i*2654435761>>7)%(1<<e2eBits), e2eBits)
	binary.BigEndian.PutUint64(id[4:], i)
	sub := [32]byte{0: byte(i % 3)}
	if i%3 == 0 {
		sub = [32]byte{}
	}
	return txFrame(id, sub, payload(40+int(i%361), byte(i)))
}

// e2eIndex returns the frame index carried by a TxID built by e2eFrame.
func e2eIndex(id *[32]byte) uint64 { return binary.BigEndian.Uint64(id[4:]) }

// sender sends datagrams to a proxy from its own socket.
type sender struct {
	c    *udpio.Conn
	to   netip.AddrPort
	msgs []udpio.Message
}

func newSender(t testing.TB, to netip.AddrPort) *sender {
	c, err := udpio.Listen("udp4", "127.0.0.1:0", udpio.Options{SendBuffer: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sender{c: c, to: to}
}

// send sends the datagrams in batches.
func (s *sender) send(ds [][]byte) error {
	s.msgs = s.msgs[:0]
	for _, d := range ds {
		s.msgs = append(s.msgs, udpio.Message{Buf: d, Addr: s.to})
	}
	_, err := s.c.WriteBatch(s.msgs)
	return err
}

// checkStamped verifies that every received datagram is an e2eFrame
// forwarded once: byte-identical except bytes 40–55, on the group its TxID
// selects, with the HashKey of (source, group, subtree), and that every
// flow's SeqNums are exactly 1..n. It returns the frame indices seen.
func checkStamped(t testing.TB, got []received, sources map[uint64]netip.Addr) map[uint64]bool {
	t.Helper()
	seen := make(map[uint64]bool, len(got))
	seqs := map[uint64][]uint64{}
	for _, r := range got {
		f, err := frame.Parse(r.data)
		if err != nil {
			t.Fatalf("tap: unparsable datagram: %v", err)
		}
		i := e2eIndex(&f.ID)
		if seen[i] {
			t.Fatalf("frame %d forwarded twice", i)
		}
		seen[i] = true
		want := e2eFrame(i)
		if len(want) != len(r.data) || string(want[:40]) != string(r.data[:40]) || string(want[56:]) != string(r.data[56:]) {
			t.Fatalf("frame %d differs from its input outside bytes 40–55", i)
		}
		if g := uint16(frame.ShardIndex(&f.ID, e2eBits)); g != r.group {
			t.Fatalf("frame %d arrived on group %d, its TxID selects %d", i, r.group, g)
		}
		if _, ok := sources[f.HashKey]; !ok {
			t.Fatalf("frame %d: HashKey %x is not HashKey(source, %d, subtree)", i, f.HashKey, r.group)
		}
		seqs[f.HashKey] = append(seqs[f.HashKey], f.SeqNum)
	}
	for hk, s := range seqs {
		sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
		for k, v := range s {
			if v != uint64(k+1) {
				t.Fatalf("flow %x: SeqNums not 1..%d: position %d holds %d", hk, len(s), k, v)
			}
		}
	}
	return seen
}

// flowKeys returns the HashKeys every flow of the e2e frames can have for
// the given proxy identities.
func flowKeys(srcs ...netip.Addr) map[uint64]netip.Addr {
	m := map[uint64]netip.Addr{}
	for _, src := range srcs {
		for g := range uint32(1 << e2eBits) {
			for k := range 3 {
				sub := [32]byte{0: byte(k)}
				m[frame.HashKey(frame.SourceID(src), g, sub)] = src
			}
		}
	}
	return m
}

// pace blocks while more than window frames are in flight: sent minus what
// the proxy accounted for (forwarded, deduplicated or dropped, which
// includes frames still queued only if the proxy has read them).
func pace(t testing.TB, lps []*liveProxy, sent int, window int, deadline time.Time) {
	for {
		done := 0.0
		for _, lp := range lps {
			done += lp.counter(lp.m.received)
		}
		if sent-int(done) <= window {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxies received %v of %d sent before the deadline", done, sent)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func (r received) String() string { return fmt.Sprintf("group %d, %d bytes", r.group, len(r.data)) }
