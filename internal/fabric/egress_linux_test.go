package fabric

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/netns"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

const waitTimeout = 5 * time.Second

// loOptions returns IPv4 options on lo with a free port and the given width.
func loOptions(t testing.TB, bits uint) Options {
	t.Helper()
	o := Defaults()
	o.Ifaces, o.ShardBits, o.Port = []string{"lo"}, bits, freePort(t)
	o.IPv4Base = netip.MustParseAddr("239.193.0.0")
	o.RecvBuffer, o.SendBuffer = 1<<20, 1<<20
	return o
}

// freePort returns a UDP port that was free a moment ago.
func freePort(t testing.TB) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// groupMessages returns one 8-byte message per group index in idxs, each
// carrying its index, addressed by e.
func groupMessages(e *Egress, idxs []uint16) []udpio.Message {
	msgs := make([]udpio.Message, len(idxs))
	for i, idx := range idxs {
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, uint64(idx))
		msgs[i] = udpio.Message{Buf: b, Addr: e.Addr(idx)}
	}
	return msgs
}

// readIndices reads want datagrams (or fails after waitTimeout) and returns
// the index each carries.
func readIndices(t *testing.T, c *udpio.Conn, want int) []uint16 {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.SetReadDeadline(time.Time{})
	in := udpio.NewMessages(16, 2048)
	var got []uint16
	for len(got) < want {
		n, err := c.ReadBatch(in)
		if err != nil {
			t.Fatalf("read after %d of %d: %v", len(got), want, err)
		}
		for _, m := range in[:n] {
			got = append(got, uint16(binary.BigEndian.Uint64(m.Payload())))
		}
	}
	return got
}

// expectQuiet fails if c receives anything within d.
func expectQuiet(t *testing.T, c *udpio.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	if n, err := c.ReadBatch(udpio.NewMessages(4, 2048)); err == nil {
		t.Errorf("received %d unexpected datagrams", n)
	} else if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Error(err)
	}
}

// TestEgressToTapOnLoopback multicasts to every shard group over IPv4 on lo:
// a tap that joined all of them gets every frame, a socket that joined only
// group 5 gets exactly the frames addressed to group 5.
func TestEgressToTapOnLoopback(t *testing.T) {
	o := loOptions(t, 3)
	tap, err := OpenTap(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	one, err := udpio.Listen("udp4", ":"+strconv.Itoa(int(o.Port)), udpio.Options{ReusePort: true})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	tab, _ := o.Table()
	if err := one.JoinGroup(tab.IP(5), "lo"); err != nil {
		t.Fatal(err)
	}
	e, err := NewEgress(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	idxs := []uint16{0, 1, 2, 3, 4, 5, 6, 7, 5, 2}
	sent, failed, err := e.Send(groupMessages(e, idxs))
	if err != nil || sent != len(idxs) || failed != 0 {
		t.Fatalf("Send = %d, %d, %v; want %d, 0, nil", sent, failed, err, len(idxs))
	}
	got := readIndices(t, tap, len(idxs))
	for i := range idxs {
		if got[i] != idxs[i] {
			t.Errorf("tap datagram %d carries group %d, want %d", i, got[i], idxs[i])
		}
	}
	if got := readIndices(t, one, 2); got[0] != 5 || got[1] != 5 {
		t.Errorf("group-5 socket got %v", got)
	}
	expectQuiet(t, one, 100*time.Millisecond)
}

// TestEgressSendAllocs pins the zero-allocation send path.
func TestEgressSendAllocs(t *testing.T) {
	o := loOptions(t, 2)
	e, err := NewEgress(o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	msgs := groupMessages(e, []uint16{0, 1, 2, 3})
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := e.Send(msgs); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Send: %v allocations per call, want 0", allocs)
	}
}

func TestEgressCloseAndErrors(t *testing.T) {
	o := loOptions(t, 2)
	e, err := NewEgress(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.LocalAddrs()) != 1 || e.LocalAddrs()[0].Port() == 0 {
		t.Errorf("LocalAddrs = %v", e.LocalAddrs())
	}
	if err := e.BufferShortfall(); err != nil {
		t.Logf("buffer shortfall (not an error here): %v", err)
	}
	// An IPv6 destination on the IPv4 egress is rejected, the rest still go.
	msgs := groupMessages(e, []uint16{0, 1})
	msgs[0].Addr = netip.MustParseAddrPort("[ff05::b:0]:9001")
	if sent, failed, err := e.Send(msgs); sent != 1 || failed != 1 || err == nil {
		t.Errorf("Send with a bad address = %d, %d, %v; want 1, 1, error", sent, failed, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, failed, err := e.Send(msgs[1:]); failed != 1 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Send after Close = failed %d, %v; want 1, net.ErrClosed", failed, err)
	}
	if _, err := NewEgress(Options{ShardBits: 20}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewEgress with bad options: %v", err)
	}
	o.Ifaces = []string{"no-such-if0"}
	if _, err := NewEgress(o); err == nil || !strings.Contains(err.Error(), "no-such-if0") {
		t.Errorf("NewEgress on a missing interface: %v", err)
	}
}

// TestJoinShardsMembershipLimit shows the kernel's IPv4 per-socket limit
// surfacing as udpio.ErrMembershipLimit with the group that failed. It runs
// in its own namespace with the limit pinned at its default of 20, so tests
// that raise the sysctl elsewhere cannot interfere.
func TestJoinShardsMembershipLimit(t *testing.T) {
	ns := netns.New(t)
	if err := ns.Sysctl("net.ipv4.igmp_max_memberships", "20"); err != nil {
		t.Fatal(err)
	}
	o := loOptions(t, 5) // 32 groups
	err := ns.Run(func() error {
		c, err := OpenTap(o)
		if err == nil {
			c.Close()
		}
		return err
	})
	if !errors.Is(err, udpio.ErrMembershipLimit) || !strings.Contains(err.Error(), "20 of 32 joined") {
		t.Errorf("OpenTap of 32 groups: %v, want ErrMembershipLimit after 20 joins", err)
	}
}

// TestEgressEveryInterface sends through two interfaces of a namespace (lo
// and one end of a veth pair) to a tap there that joined on both: every frame
// arrives once per interface, looped back on each.
func TestEgressEveryInterface(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	v := netns.Connect(t, a, b)
	o := loOptions(t, 2)
	o.Ifaces = []string{"lo", v.IfA}
	var tap *udpio.Conn
	var e *Egress
	if err := a.Run(func() (err error) {
		if tap, err = OpenTap(o); err != nil {
			return err
		}
		e, err = NewEgress(o)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	defer e.Close()
	idxs := []uint16{0, 1, 2, 3}
	if sent, failed, err := e.Send(groupMessages(e, idxs)); err != nil || sent != 8 || failed != 0 {
		t.Fatalf("Send = %d, %d, %v; want 8, 0, nil", sent, failed, err)
	}
	got := readIndices(t, tap, 8)
	count := map[uint16]int{}
	for _, g := range got {
		count[g]++
	}
	for _, idx := range idxs {
		if count[idx] != 2 {
			t.Errorf("group %d arrived %d times, want 2 (once per interface)", idx, count[idx])
		}
	}
	expectQuiet(t, tap, 100*time.Millisecond)
}
