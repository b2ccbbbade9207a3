package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mcdedup/mcdedup/internal/systest"
)

// nsInode identifies the network namespace of the calling thread.
func nsInode(t *testing.T) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func listed(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

func TestNewRunClose(t *testing.T) {
	n := New(t)
	if !strings.HasPrefix(n.Name(), fmt.Sprintf("%s%d-", Prefix, os.Getpid())) {
		t.Errorf("name %q lacks prefix and pid", n.Name())
	}
	if !listed(t, n.Name()) {
		t.Fatalf("%s not in ip netns list", n.Name())
	}
	var inside []net.Interface
	err := n.Run(func() error {
		var err error
		inside, err = net.Interfaces()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inside) != 1 || inside[0].Name != "lo" || inside[0].Flags&net.FlagUp == 0 {
		t.Errorf("interfaces inside = %+v, want lo only, up", inside)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if listed(t, n.Name()) {
		t.Errorf("%s still listed after Close", n.Name())
	}
}

func TestRunRestoresThreadNamespace(t *testing.T) {
	n := New(t)
	var outer, inner uint64
	err := n.Run(func() error {
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
			return err
		}
		inner = st.Ino
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	outer = nsInode(t)
	if inner == outer {
		t.Fatalf("Run did not enter the namespace (inode %d)", inner)
	}
	// Many Runs must not leave any runtime thread inside the namespace: the
	// test goroutine, scheduled on arbitrary threads, always sees the original.
	for range 50 {
		if err := n.Run(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := nsInode(t); got != outer {
			t.Fatalf("thread left in namespace %d, want %d", got, outer)
		}
	}
	wantErr := errors.New("from fn")
	if err := n.Run(func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Errorf("Run error = %v, want %v", err, wantErr)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		_ = n.Run(func() error { panic("boom") })
	}()
}

func TestSysctlIsPerNamespace(t *testing.T) {
	n := New(t)
	const key = "/proc/sys/net/ipv4/igmp_max_memberships"
	host, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Sysctl("net.ipv4.igmp_max_memberships", "4321"); err != nil {
		t.Fatal(err)
	}
	out, err := n.Exec(context.Background(), "cat", key)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "4321" {
		t.Errorf("inside: %s = %q, want 4321", key, got)
	}
	if after, _ := os.ReadFile(key); string(after) != string(host) {
		t.Errorf("host value changed from %q to %q", host, after)
	}
}

// exchange sends count datagrams from a socket in a to dst and returns how
// many a socket bound to dst inside b received, waiting at most wait for
// each.
func exchange(t *testing.T, a, b *NS, dst netip.AddrPort, count int, wait time.Duration) int {
	t.Helper()
	var rx *net.UDPConn
	if err := b.Run(func() (err error) {
		rx, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(dst))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	var tx *net.UDPConn
	if err := a.Run(func() (err error) {
		tx, err = net.ListenUDP("udp", nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for i := range count {
		if _, err := tx.WriteToUDPAddrPort([]byte{byte(i)}, dst); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	got := 0
	buf := make([]byte, 16)
	for got < count {
		rx.SetReadDeadline(time.Now().Add(wait))
		if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
			break // deadline: the rest were dropped
		}
		got++
	}
	return got
}

func TestConnectCarriesUnicast(t *testing.T) {
	a, b := New(t), New(t)
	v := Connect(t, a, b)
	if !v.LinkA.IsLinkLocalUnicast() || !v.LinkB.IsLinkLocalUnicast() {
		t.Errorf("link-local addresses %v, %v", v.LinkA, v.LinkB)
	}
	for _, dst := range []netip.Addr{v.AddrB, v.Addr4B} {
		if got := exchange(t, a, b, netip.AddrPortFrom(dst, 40001), 5, 2*time.Second); got != 5 {
			t.Errorf("to %v: received %d of 5", dst, got)
		}
	}
	// A second pair between the same namespaces gets its own names and subnet.
	v2 := Connect(t, a, b)
	if v2.IfA == v.IfA || v2.AddrA == v.AddrA {
		t.Errorf("second pair reuses %s / %v", v2.IfA, v2.AddrA)
	}
}

func TestAddLoss(t *testing.T) {
	systest.Command(t, "nft")
	a, b := New(t), New(t)
	v := Connect(t, a, b)
	dst := netip.AddrPortFrom(v.AddrB, 40002)
	if err := b.AddLoss(101); err == nil {
		t.Error("AddLoss(101) succeeded")
	}
	if err := b.AddLoss(0); err != nil { // no table yet: must still work
		t.Fatal(err)
	}
	if err := b.AddLoss(100); err != nil {
		t.Fatal(err)
	}
	if got := exchange(t, a, b, dst, 20, 200*time.Millisecond); got != 0 {
		t.Errorf("100%% loss: received %d of 20", got)
	}
	if err := b.AddLoss(50); err != nil {
		t.Fatal(err)
	}
	// Binomial(400, 0.5): the bounds are ten standard deviations out.
	if got := exchange(t, a, b, dst, 400, 200*time.Millisecond); got < 100 || got > 300 {
		t.Errorf("50%% loss: received %d of 400", got)
	}
	if err := b.AddLoss(0); err != nil {
		t.Fatal(err)
	}
	if got := exchange(t, a, b, dst, 20, 2*time.Second); got != 20 {
		t.Errorf("loss removed: received %d of 20", got)
	}
}

func TestSweepRemovesStaleNamespaces(t *testing.T) {
	systest.Root(t)
	systest.Command(t, "ip", "true")
	// A pid that is certainly gone: a child that has exited and been reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-deadbeef", Prefix, cmd.Process.Pid)
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		systest.Missing(t, "cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", stale).Run() })
	live := New(t) // ours, alive: must survive
	sweep(t)
	if listed(t, stale) {
		t.Errorf("stale %s not swept", stale)
	}
	if !listed(t, live.Name()) {
		t.Errorf("live %s swept", live.Name())
	}
}

func TestCreatorPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"mcdedup-123-abcd", 123, true},
		{"mcdedup-0-abcd", 0, false},
		{"mcdedup-x-abcd", 0, false},
		{"mcdedup-123", 0, false},
		{"other-123-abcd", 0, false},
	} {
		pid, ok := creatorPID(tc.name)
		if ok != tc.ok || (ok && pid != tc.pid) {
			t.Errorf("creatorPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}
