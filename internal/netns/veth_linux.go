package netns

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// Veth is a veth pair between two namespaces, up, multicast-capable, with
// one IPv6 and one IPv4 address on each end.
type Veth struct {
	A, B         *NS
	IfA, IfB     string     // interface names, in A and in B
	AddrA, AddrB netip.Addr // IPv6 unique-local addresses in one /64, no DAD
	LinkA, LinkB netip.Addr // IPv6 link-local addresses (without zone)
	Addr4A       netip.Addr // IPv4 addresses in one /24
	Addr4B       netip.Addr
}

// links numbers the veth pairs of this process, giving each its own names
// and subnets so one namespace can hold several.
var links atomic.Uint32

// linkLocalWait bounds the wait for the kernel to add link-local addresses.
const linkLocalWait = 5 * time.Second

// Connect joins a and b with a new veth pair: IPv6 fd6d:6364:k::1/64 and
// ::2, IPv4 10.211.k.1/24 and .2 (k counts the pairs of this process), both
// ends up with multicast on and an IPv4 multicast route, so plain sockets
// can send to 224.0.0.0/4 without choosing an interface (IPv6 has ff00::/8
// on every interface already). The pair dies with either namespace.
func Connect(t testing.TB, a, b *NS) *Veth {
	t.Helper()
	k := links.Add(1)
	if k > 255 {
		t.Fatalf("netns: more than 255 veth pairs in one process")
	}
	v := &Veth{
		A: a, B: b,
		IfA:    fmt.Sprintf("mcd%da", k),
		IfB:    fmt.Sprintf("mcd%db", k),
		AddrA:  netip.MustParseAddr(fmt.Sprintf("fd6d:6364:%x::1", k)),
		AddrB:  netip.MustParseAddr(fmt.Sprintf("fd6d:6364:%x::2", k)),
		Addr4A: netip.AddrFrom4([4]byte{10, 211, byte(k), 1}),
		Addr4B: netip.AddrFrom4([4]byte{10, 211, byte(k), 2}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := func(n *NS, args ...string) {
		t.Helper()
		if _, err := n.Exec(ctx, args...); err != nil {
			t.Fatalf("netns: %v", err)
		}
	}
	// Both ends are created straight inside their namespaces, so the names
	// never meet those of other tests in the root namespace.
	run(a, "ip", "link", "add", v.IfA, "type", "veth", "peer", "name", v.IfB, "netns", b.name)
	for _, end := range []struct {
		ns     *NS
		ifname string
		v6, v4 netip.Addr
	}{{a, v.IfA, v.AddrA, v.Addr4A}, {b, v.IfB, v.AddrB, v.Addr4B}} {
		run(end.ns, "ip", "-6", "addr", "add", end.v6.String()+"/64", "dev", end.ifname, "nodad")
		run(end.ns, "ip", "-4", "addr", "add", end.v4.String()+"/24", "dev", end.ifname)
		run(end.ns, "ip", "link", "set", end.ifname, "multicast", "on", "up")
		// A metric of its own, since other pairs may route 224/4 already.
		run(end.ns, "ip", "-4", "route", "add", "224.0.0.0/4", "dev", end.ifname, "metric", fmt.Sprint(k))
	}
	var err error
	if v.LinkA, err = waitLinkLocal(ctx, a, v.IfA); err != nil {
		t.Fatalf("netns: %v", err)
	}
	if v.LinkB, err = waitLinkLocal(ctx, b, v.IfB); err != nil {
		t.Fatalf("netns: %v", err)
	}
	return v
}

// waitLinkLocal polls until the kernel has given ifname a link-local IPv6
// address (it does so once the link has carrier) and returns it.
func waitLinkLocal(ctx context.Context, n *NS, ifname string) (netip.Addr, error) {
	deadline := time.Now().Add(linkLocalWait)
	for {
		out, err := n.Exec(ctx, "ip", "-j", "-6", "addr", "show", "dev", ifname, "scope", "link")
		if err != nil {
			return netip.Addr{}, err
		}
		var links []struct {
			AddrInfo []struct {
				Local string `json:"local"`
			} `json:"addr_info"`
		}
		if err := json.Unmarshal(out, &links); err != nil {
			return netip.Addr{}, fmt.Errorf("netns %s: parse ip -j output: %w", n.name, err)
		}
		for _, l := range links {
			for _, ai := range l.AddrInfo {
				if addr, err := netip.ParseAddr(ai.Local); err == nil && addr.IsLinkLocalUnicast() {
					return addr, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return netip.Addr{}, fmt.Errorf("netns %s: no link-local address on %s after %v", n.name, ifname, linkLocalWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
