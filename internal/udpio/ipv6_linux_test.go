package udpio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
			rx := listenIn(t, b, "udp6", "[::]:0", Options{RecvBuffer: 4 << 20, Blocking: mode.blocking})
			tx := listenIn(t, a, "udp6", netip.AddrPortFrom(v.AddrA, 0).String(),
				Options{MulticastInterface: v.IfA, MulticastHops: 1, Blocking: mode.blocking})
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
	inIOModes(t, func(t *testing.T, m mode) { testIPv6LinkLocalZones(t, m, a, b, v) })
}

func testIPv6LinkLocalZones(t *testing.T, m mode, a, b *netns.NS, v *netns.Veth) {
	rx := listenIn(t, b, "udp6", "[::]:0", Options{RecvBuffer: 4 << 20, Blocking: m.blocking})
	tx := listenIn(t, a, "udp6", "[::]:0", Options{MulticastInterface: v.IfA, Blocking: m.blocking})
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
	if allocs := readAllocs(t, rx, NewMessages(batch, 2048), runs); allocs != 0 {
		t.Errorf("ReadBatch of zoned sources: %v allocations per call, want 0", allocs)
	}
}

// shapedLink connects two new namespaces a and b by a veth whose a side
// sends at rate (tc tbf) with a queue deep enough to hold everything.
func shapedLink(t *testing.T, rate string) (a, b *netns.NS, v *netns.Veth) {
	systest.Command(t, "tc")
	a, b = netns.New(t), netns.New(t)
	v = netns.Connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := a.Exec(ctx, "tc", "qdisc", "add", "dev", v.IfA, "root", "tbf",
		"rate", rate, "burst", "4kb", "limit", "1mb"); err != nil {
		t.Fatal(err)
	}
	return a, b, v
}

// TestWriteBatchWaitsWhenSendBufferFull shapes the veth to 10 Mbit/s with a
// queue deep enough to hold everything, and gives the sender the smallest
// send buffer: the batch outruns the link, sendmmsg hits EAGAIN (or, in
// blocking mode, waits in the kernel), and WriteBatch must wait and still
// send every datagram.
func TestWriteBatchWaitsWhenSendBufferFull(t *testing.T) {
	a, b, v := shapedLink(t, "10mbit")
	rx := listenIn(t, b, "udp6", "[::]:0", Options{RecvBuffer: 4 << 20})
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			tx := listenIn(t, a, "udp6", "[::]:0", Options{SendBuffer: 1, Blocking: mode.blocking}) // kernel minimum
			forceSingle(tx, mode.single)
			frames := randomFrames(15, 64, 1400, 1400)
			start := time.Now()
			sendFrames(t, tx, frames, netip.AddrPortFrom(v.AddrB, rx.LocalAddr().Port()))
			// 61 frames beyond the buffer and burst need ≥ 68 ms at 10 Mbit/s.
			if elapsed := time.Since(start); elapsed < 30*time.Millisecond {
				t.Errorf("WriteBatch returned after %v: the send buffer never filled, the wait was not exercised", elapsed)
			}
			checkFrames(t, readDatagrams(t, rx, len(frames)), frames, netip.AddrPortFrom(v.AddrA, tx.LocalAddr().Port()))
		})
	}
}

// TestCloseWakesBlockedWrite shapes a veth to 100 kbit/s so that a batch
// fills the smallest send buffer and WriteBatch waits (in blocking mode: a
// thread in sendmmsg, kernel back-pressure); Close must end the wait and
// count the unsent rest as failed, with net.ErrClosed.
func TestCloseWakesBlockedWrite(t *testing.T) {
	a, _, v := shapedLink(t, "100kbit")
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			tx, err := func() (c *Conn, err error) {
				err = a.Run(func() error {
					c, err = Listen("udp6", "[::]:0", Options{SendBuffer: 1, Blocking: mode.blocking})
					return err
				})
				return c, err
			}()
			if err != nil {
				t.Fatal(err)
			}
			forceSingle(tx, mode.single)
			frames := randomFrames(17, 64, 1400, 1400) // 7 s at 100 kbit/s
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := tx.WriteBatch(toMessages(frames, netip.AddrPortFrom(v.AddrB, 9)))
				done <- result{n, err}
			}()
			if mode.blocking {
				fd := tx.bfd.fd
				waitFor(t, "no thread blocked in sendmmsg/sendmsg", func() bool {
					return blockedIn(t, fd, unix.SYS_SENDMMSG, unix.SYS_SENDMSG) == 1
				})
			} else {
				time.Sleep(50 * time.Millisecond)
			}
			if err := tx.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-done:
				var we *WriteError
				if r.n >= len(frames) || !errors.As(r.err, &we) || we.Failed != len(frames)-r.n || !errors.Is(r.err, net.ErrClosed) {
					t.Errorf("WriteBatch = %d, %v; want fewer than %d sent, the rest failed with net.ErrClosed", r.n, r.err, len(frames))
				}
				t.Logf("%d of %d sent before Close", r.n, len(frames))
			case <-time.After(time.Second):
				t.Fatal("WriteBatch still blocked 1s after Close")
			}
		})
	}
}
