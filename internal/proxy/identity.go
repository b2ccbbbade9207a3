package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mcdedup/mcdedup/internal/fabric"
)

// DefaultFlowSource returns the flow identity a proxy uses when none is
// configured: the primary address of the first egress interface, in the
// family of the groups first (a global IPv6 address for IPv6 groups, an
// IPv4 address for the IPv4 mapping), then loopback, then the other family.
// So on lo it is ::1 or 127.0.0.1. Without interfaces it is the source
// address the routing table picks for the first group. Two proxies on one
// host share these defaults and must set -flow-source.
func DefaultFlowSource(o fabric.Options) (netip.Addr, error) {
	v4 := o.IsIPv4()
	if len(o.Ifaces) == 0 {
		return routeSource(o)
	}
	ifi, err := net.InterfaceByName(o.Ifaces[0])
	if err != nil {
		return netip.Addr{}, fmt.Errorf("proxy: flow source: %w", err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("proxy: flow source: interface %s: %w", ifi.Name, err)
	}
	best, bestRank := netip.Addr{}, 0
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		if r := rankSource(pfx.Addr().Unmap(), v4); r > bestRank {
			best, bestRank = pfx.Addr().Unmap(), r
		}
	}
	if !best.IsValid() {
		return netip.Addr{}, fmt.Errorf("proxy: flow source: interface %s has no usable address; set -flow-source", ifi.Name)
	}
	return best, nil
}

// rankSource orders candidate flow identities: higher is better, 0 unusable.
func rankSource(a netip.Addr, v4 bool) int {
	same := a.Is4() == v4
	switch {
	case a.IsUnspecified() || a.IsMulticast():
		return 0
	case a.IsGlobalUnicast() && same:
		return 6
	case a.IsLoopback() && same:
		return 5
	case a.IsGlobalUnicast():
		return 4
	case a.IsLoopback():
		return 3
	case a.IsLinkLocalUnicast() && same:
		return 2
	}
	return 1
}

// routeSource asks the routing table which source address reaches the
// first group (a connected UDP socket sends nothing).
func routeSource(o fabric.Options) (netip.Addr, error) {
	table, err := o.Table()
	if err != nil {
		return netip.Addr{}, err
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(table.Addr(0)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("proxy: flow source: no route to %s (%w); set -flow-source or -iface", table.Addr(0), err)
	}
	defer c.Close()
	a := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	if !a.IsValid() || a.IsUnspecified() {
		return netip.Addr{}, errors.New("proxy: flow source: the route to the groups has no source address; set -flow-source")
	}
	return a.WithZone(""), nil
}
