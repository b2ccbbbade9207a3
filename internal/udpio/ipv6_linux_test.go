package udpio

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/netns"
	"github.com/mcdedup/mcdedup/internal/systest"
)

// listenIn opens a Conn inside namespace n, closed when the test ends.
func listenIn(t *testing.T, n *netns.NS, network, addr string, opts Options) *Conn {
	t.Helper()
	var c *Conn
	if err := n.Run(func() (err error) {
		c, err = Listen(network, addr, opts)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ifIndexIn returns the index of an interface inside namespace n.
func ifIndexIn(t *testing.T, n *netns.NS, name string) int {
	t.Helper()
	var idx int
	if err := n.Run(func() error {
		ifi, err := net.InterfaceByName(name)
		if err == nil {
			idx = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestIPv6MulticastAcrossNamespaces sends frames to an IPv6 group from
// namespace A over a veth pair to a joined socket in namespace B (IPv6
// multicast does not work on lo). Interface names are resolved in each
// socket's own namespace, so JoinGroup works outside netns.Run.
func TestIPv6MulticastAcrossNamespaces(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	v := netns.Connect(t, a, b)
	for i, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			rx := listenIn(t, b, "udp6", "[::]:0", Options{RecvBuffer: 4 << 20})
			tx := listenIn(t, a, "udp6", netip.AddrPortFrom(v.AddrA, 0).String(),
				Options{MulticastInterface: v.IfA, MulticastHops: 1})
			forceSingle(rx, mode.single)
			forceSingle(tx, mode.single)
			group := netip.MustParseAddr(fmt.Sprintf("ff05::b:%x", 0x100+i))
			if err := rx.JoinGroup(group, v.IfB); err != nil {
				t.Fatal(err)
			}
			frames := randomFrames(uint64(11+i), 40, 4, 1400)
			sendFrames(t, tx, frames, netip.AddrPortFrom(group, rx.LocalAddr().Port()))
			checkFrames(t, readDatagrams(t, rx, len(frames)), frames, tx.LocalAddr())
		})
	}
}

// TestIPv6LinkLocalZones sends to a link-scope group, so the source is a
// link-local address that only means something with its zone: ReadBatch must
// report the zone (numeric, the receiving interface), a reply to that
// address must arrive, and decoding zoned sources must not allocate.
func TestIPv6LinkLocalZones(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	v := netns.Connect(t, a, b)
	rx := listenIn(t, b, "udp6", "[::]:0", Options{RecvBuffer: 4 << 20})
	tx := listenIn(t, a, "udp6", "[::]:0", Options{MulticastInterface: v.IfA})
	group := netip.MustParseAddr(fmt.Sprintf("ff02::b:%x", os.Getpid()&0xffff))
	if err := rx.JoinGroup(group, v.IfB); err != nil {
		t.Fatal(err)
	}
	dst := netip.AddrPortFrom(group, rx.LocalAddr().Port())
	frames := randomFrames(12, 4, 4, 64)
	sendFrames(t, tx, frames, dst)
	got := readDatagrams(t, rx, len(frames))
	wantSrc := netip.AddrPortFrom(v.LinkA.WithZone(strconv.Itoa(ifIndexIn(t, b, v.IfB))), tx.LocalAddr().Port())
	checkFrames(t, got, frames, wantSrc)

	reply := [][]byte{[]byte("reply to a zoned address")}
	sendFrames(t, rx, reply, got[0].Addr)
	wantReplySrc := netip.AddrPortFrom(v.LinkB.WithZone(strconv.Itoa(ifIndexIn(t, a, v.IfA))), rx.LocalAddr().Port())
	checkFrames(t, readDatagrams(t, tx, 1), reply, wantReplySrc)

	const runs, batch = 50, 4
	for range runs + 1 {
		sendFrames(t, tx, frames, dst)
	}
	in := NewMessages(batch, 2048)
	var failed error
	allocs := testing.AllocsPerRun(runs, func() {
		if _, err := rx.ReadBatch(in); err != nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs != 0 {
		t.Errorf("ReadBatch of zoned sources: %v allocations per call, want 0", allocs)
	}
}

// TestWriteBatchWaitsWhenSendBufferFull shapes the veth to 10 Mbit/s with a
// queue deep enough to hold everything, and gives the sender the smallest
// send buffer: the batch outruns the link, sendmmsg hits EAGAIN, and
// WriteBatch must wait in the runtime poller and still send every datagram.
func TestWriteBatchWaitsWhenSendBufferFull(t *testing.T) {
	systest.Command(t, "tc")
	a, b := netns.New(t), netns.New(t)
	v := netns.Connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := a.Exec(ctx, "tc", "qdisc", "add", "dev", v.IfA, "root", "tbf",
		"rate", "10mbit", "burst", "4kb", "limit", "1mb"); err != nil {
		t.Fatal(err)
	}
	rx := listenIn(t, b, "udp6", "[::]:0", Options{RecvBuffer: 4 << 20})
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			tx := listenIn(t, a, "udp6", "[::]:0", Options{SendBuffer: 1}) // kernel minimum
			forceSingle(tx, mode.single)
			frames := randomFrames(15, 64, 1400, 1400)
			start := time.Now()
			sendFrames(t, tx, frames, netip.AddrPortFrom(v.AddrB, rx.LocalAddr().Port()))
			// 61 frames beyond the buffer and burst need ≥ 68 ms at 10 Mbit/s.
			if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
				t.Errorf("WriteBatch returned after %v: the send buffer never filled, EAGAIN was not exercised", elapsed)
			}
			checkFrames(t, readDatagrams(t, rx, len(frames)), frames, netip.AddrPortFrom(v.AddrA, tx.LocalAddr().Port()))
		})
	}
}
