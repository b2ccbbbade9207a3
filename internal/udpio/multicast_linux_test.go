package udpio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/netns"
)

// testGroup4 returns an administratively scoped IPv4 group unique to this
// process and i, so parallel test runs do not share groups.
func testGroup4(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{239, 255, byte(os.Getpid()), byte(i)})
}

// logLoopbackFlags notes when lo lacks the MULTICAST flag: Linux delivers
// IPv4 multicast on lo without it when the sender sets IP_MULTICAST_IF=lo (or
// binds 127.0.0.1), which these tests do, so they neither need nor set it.
func logLoopbackFlags(t *testing.T) {
	if lo, err := net.InterfaceByName("lo"); err == nil && lo.Flags&net.FlagMulticast == 0 {
		t.Logf("lo lacks the MULTICAST flag (ip link set lo multicast on would add it); if this test times out, try that")
	}
}

// loopbackSender opens a socket that multicasts out of lo from addr.
func loopbackSender(t *testing.T, m mode, network, addr string) *Conn {
	return listenMode(t, m, network, addr, Options{MulticastInterface: "lo", MulticastHops: 1})
}

func TestIPv4MulticastLoopback(t *testing.T) {
	logLoopbackFlags(t)
	for i, mode := range modes {
		for _, rxNet := range []string{"udp4", "udp"} { // udp: dual stack joins an IPv4 group
			t.Run(mode.name+"/"+rxNet, func(t *testing.T) {
				rx := listenMode(t, mode, rxNet, ":0", Options{RecvBuffer: 4 << 20})
				tx := loopbackSender(t, mode, "udp4", "127.0.0.1:0")
				group := testGroup4(10 + i)
				if err := rx.JoinGroup(group, "lo"); err != nil {
					t.Fatal(err)
				}
				frames := randomFrames(uint64(7+i), 40, 4, 1400)
				sendFrames(t, tx, frames, netip.AddrPortFrom(group, rx.LocalAddr().Port()))
				checkFrames(t, readDatagrams(t, rx, len(frames)), frames, tx.LocalAddr())
			})
		}
	}
}

// TestMulticastAllOff shows that a socket receives only the groups it joined
// itself, although another socket bound to the same port joined more. The
// control socket keeps the kernel default IP_MULTICAST_ALL=1 and does get the
// foreign group, so the test would notice the option missing.
func TestMulticastAllOff(t *testing.T) { inIOModes(t, testMulticastAllOff) }

func testMulticastAllOff(t *testing.T, m mode) {
	logLoopbackFlags(t)
	joined := listenMode(t, m, "udp4", ":0", Options{ReusePort: true})
	port := joined.LocalAddr().Port()
	other := listenMode(t, m, "udp4", fmt.Sprintf(":%d", port), Options{ReusePort: true})
	control := listenMode(t, m, "udp4", fmt.Sprintf(":%d", port), Options{ReusePort: true, keepMulticastAll: true})
	g1, g2 := testGroup4(20), testGroup4(21)
	for _, j := range []struct {
		c *Conn
		g netip.Addr
	}{{joined, g1}, {other, g2}, {control, g2}} {
		if err := j.c.JoinGroup(j.g, "lo"); err != nil {
			t.Fatal(err)
		}
	}
	tx := loopbackSender(t, m, "udp4", "127.0.0.1:0")
	frames := randomFrames(8, 5, 4, 64)
	sendFrames(t, tx, frames, netip.AddrPortFrom(g1, port))
	marker := [][]byte{[]byte("marker to g2")}
	sendFrames(t, tx, marker, netip.AddrPortFrom(g2, port))

	checkFrames(t, readDatagrams(t, joined, len(frames)), frames, tx.LocalAddr())
	// Datagrams arrive in order: had other received g1, it would come first.
	checkFrames(t, readDatagrams(t, other, 1), marker, tx.LocalAddr())
	if got := readDatagrams(t, control, 1); string(got[0].Data) == string(marker[0]) {
		t.Error("control socket with IP_MULTICAST_ALL=1 did not receive the foreign group; the test proves nothing")
	}
}

func TestLeaveGroup(t *testing.T) { inIOModes(t, testLeaveGroup) }

func testLeaveGroup(t *testing.T, m mode) {
	rx := listenMode(t, m, "udp4", ":0", Options{})
	tx := loopbackSender(t, m, "udp4", "127.0.0.1:0")
	g1, g2 := testGroup4(30), testGroup4(31)
	for _, g := range []netip.Addr{g1, g2} {
		if err := rx.JoinGroup(g, "lo"); err != nil {
			t.Fatal(err)
		}
	}
	if err := rx.JoinGroup(g1, "lo"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second join: %v, want EADDRINUSE", err)
	}
	port := rx.LocalAddr().Port()
	first := [][]byte{[]byte("while joined")}
	sendFrames(t, tx, first, netip.AddrPortFrom(g1, port))
	checkFrames(t, readDatagrams(t, rx, 1), first, tx.LocalAddr())

	if err := rx.LeaveGroup(g1, "lo"); err != nil {
		t.Fatal(err)
	}
	if err := rx.LeaveGroup(g1, "lo"); err == nil {
		t.Error("second leave succeeded")
	}
	sendFrames(t, tx, [][]byte{[]byte("after leave")}, netip.AddrPortFrom(g1, port))
	marker := [][]byte{[]byte("marker")}
	sendFrames(t, tx, marker, netip.AddrPortFrom(g2, port))
	checkFrames(t, readDatagrams(t, rx, 1), marker, tx.LocalAddr())
}

func TestSourceSpecificJoin(t *testing.T) { inIOModes(t, testSourceSpecificJoin) }

func testSourceSpecificJoin(t *testing.T, m mode) {
	rx := listenMode(t, m, "udp4", ":0", Options{})
	wanted := loopbackSender(t, m, "udp4", "127.0.0.2:0")
	unwanted := loopbackSender(t, m, "udp4", "127.0.0.1:0")
	group := netip.AddrFrom4([4]byte{232, 255, byte(os.Getpid()), 1})
	dst := netip.AddrPortFrom(group, rx.LocalAddr().Port())
	src := wanted.LocalAddr().Addr()
	if err := rx.JoinSourceGroup(group, src, "lo"); err != nil {
		t.Fatal(err)
	}
	sendFrames(t, unwanted, randomFrames(9, 3, 4, 32), dst)
	frames := randomFrames(10, 3, 4, 32)
	sendFrames(t, wanted, frames, dst)
	checkFrames(t, readDatagrams(t, rx, len(frames)), frames, wanted.LocalAddr())

	if err := rx.LeaveSourceGroup(group, src, "lo"); err != nil {
		t.Fatal(err)
	}
	if err := rx.LeaveSourceGroup(group, src, "lo"); err == nil {
		t.Error("second source leave succeeded")
	}
}

func TestJoinErrors(t *testing.T) { inIOModes(t, testJoinErrors) }

func testJoinErrors(t *testing.T, m mode) {
	v4 := listenMode(t, m, "udp4", ":0", Options{})
	tests := []struct {
		name          string
		group, source string
		iface         string
		want          string
	}{
		{"unicast group", "127.0.0.1", "", "lo", "not a multicast address"},
		{"v6 group on v4 socket", "ff05::b:1", "", "lo", ErrAddressFamily.Error()},
		{"family mismatch", "232.1.1.1", "::1", "lo", "families differ"},
		{"unknown interface", "239.1.1.1", "", "nosuchif0", `"nosuchif0"`},
	}
	for _, tc := range tests {
		var err error
		if tc.source == "" {
			err = v4.JoinGroup(netip.MustParseAddr(tc.group), tc.iface)
		} else {
			err = v4.JoinSourceGroup(netip.MustParseAddr(tc.group), netip.MustParseAddr(tc.source), tc.iface)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %s", tc.name, err, tc.want)
		}
	}
}

// shardGroups is what one listener socket joins at most: every shard group
// plus control groups.
const shardGroups = 4096 + 2

// joinUntilError joins groups 0, 1, … of gen on c up to n and returns how
// many succeeded and the first error.
func joinUntilError(c *Conn, n int, gen func(int) netip.Addr) (int, error) {
	for i := range n {
		if err := c.JoinGroup(gen(i), "lo"); err != nil {
			return i, err
		}
	}
	return n, nil
}

func shard4(i int) netip.Addr { return netip.AddrFrom4([4]byte{239, 192, byte(i >> 8), byte(i)}) }
func shard6(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x05, 13: 0x0b, 14: byte(i >> 8), 15: byte(i)})
}

// families are the two address families with their shard group generators.
var families = []struct {
	network string
	gen     func(int) netip.Addr
}{{"udp4", shard4}, {"udp6", shard6}}

// TestJoinManyGroups joins all shard groups on one socket in a fresh
// namespace, after showing the kernel defaults that stop it and the errors
// that name them.
func TestJoinManyGroups(t *testing.T) { inIOModes(t, testJoinManyGroups) }

func testJoinManyGroups(t *testing.T, m mode) {
	n := netns.New(t)
	join := func(network string, gen func(int) netip.Addr) (int, error) {
		var joined int
		var joinErr error
		err := n.Run(func() error {
			c, err := Listen(network, ":0", Options{Blocking: m.blocking})
			if err != nil {
				return err
			}
			defer c.Close()
			joined, joinErr = joinUntilError(c, shardGroups, gen)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return joined, joinErr
	}
	// Defaults of a new namespace: 20 IPv4 groups per socket.
	if got, err := join("udp4", shard4); got != 20 || !errors.Is(err, ErrMembershipLimit) ||
		!strings.Contains(err.Error(), "net.ipv4.igmp_max_memberships") {
		t.Errorf("IPv4 with defaults: joined %d, %v; want 20 and a limit error naming the sysctl", got, err)
	}
	if err := n.Sysctl("net.ipv4.igmp_max_memberships", "8192"); err != nil {
		t.Fatal(err)
	}
	// Option memory caps both families below 4098 at the 128 KiB default.
	if err := n.Sysctl("net.core.optmem_max", "131072"); err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		got, err := join(fam.network, fam.gen)
		if got == shardGroups || !errors.Is(err, ErrMembershipLimit) || !strings.Contains(err.Error(), "net.core.optmem_max") {
			t.Errorf("%s with optmem_max 128 KiB: joined %d, %v; want a limit error naming optmem_max", fam.network, got, err)
		}
		t.Logf("%s: %d groups fit in 128 KiB of option memory", fam.network, got)
	}
	if err := n.Sysctl("net.core.optmem_max", "1048576"); err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if got, err := join(fam.network, fam.gen); got != shardGroups || err != nil {
			t.Errorf("%s with raised limits: joined %d of %d: %v", fam.network, got, shardGroups, err)
		}
	}
	// The memberships are real: the last group delivers.
	err := n.Run(func() error {
		rx, err := Listen("udp4", ":0", Options{Blocking: m.blocking})
		if err != nil {
			return err
		}
		defer rx.Close()
		if _, err := joinUntilError(rx, shardGroups, shard4); err != nil {
			return err
		}
		tx, err := Listen("udp4", "127.0.0.1:0", Options{MulticastInterface: "lo", Blocking: m.blocking})
		if err != nil {
			return err
		}
		defer tx.Close()
		dst := netip.AddrPortFrom(shard4(shardGroups-1), rx.LocalAddr().Port())
		if _, err := tx.WriteBatch([]Message{{Buf: []byte("last"), Addr: dst}}); err != nil {
			return err
		}
		rx.SetReadDeadline(time.Now().Add(waitTimeout))
		msgs := NewMessages(1, 64)
		if _, err := rx.ReadBatch(msgs); err != nil {
			return fmt.Errorf("reading from group %v: %w", dst.Addr(), err)
		}
		if got := string(msgs[0].Payload()); got != "last" {
			return fmt.Errorf("received %q from group %v", got, dst.Addr())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestListenOnGroupAddress: like the net package, Listen on a multicast
// address binds the wildcard address of that port with SO_REUSEADDR, so
// several sockets can share it; in both modes.
func TestListenOnGroupAddress(t *testing.T) {
	inIOModes(t, func(t *testing.T, m mode) {
		group := testGroup4(50)
		a := listenMode(t, m, "udp4", netip.AddrPortFrom(group, 0).String(), Options{})
		port := a.LocalAddr().Port()
		if want := netip.AddrPortFrom(netip.IPv4Unspecified(), port); a.LocalAddr() != want {
			t.Errorf("LocalAddr = %v, want %v", a.LocalAddr(), want)
		}
		b := listenMode(t, m, "udp4", netip.AddrPortFrom(group, port).String(), Options{})
		if err := b.JoinGroup(group, "lo"); err != nil {
			t.Fatal(err)
		}
		tx := loopbackSender(t, m, "udp4", "127.0.0.1:0")
		frames := randomFrames(18, 3, 4, 64)
		sendFrames(t, tx, frames, netip.AddrPortFrom(group, port))
		checkFrames(t, readDatagrams(t, b, len(frames)), frames, tx.LocalAddr())
	})
}
