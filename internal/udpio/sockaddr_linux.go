package udpio

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawSockaddr is storage for a sockaddr_in or sockaddr_in6; a sockaddr_in
// overlays its first 16 bytes.
type rawSockaddr = unix.RawSockaddrInet6

// putPort and getPort access a sockaddr port, stored in network byte order.
func putPort(p *uint16, port uint16) {
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(p))[:], port)
}

func getPort(p *uint16) uint16 {
	return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(p))[:])
}

// encodeSockaddr writes ap into sa in the form a socket of the given family
// expects (an IPv4 destination of an AF_INET6 socket becomes IPv4-mapped)
// and returns the sockaddr length. zoneIndex resolves a non-numeric zone.
func encodeSockaddr(sa *rawSockaddr, family int, ap netip.AddrPort, zoneIndex func(string) (uint32, error)) (uint32, error) {
	addr := ap.Addr()
	if family == unix.AF_INET {
		addr = addr.Unmap()
		if !addr.Is4() {
			return 0, ErrAddressFamily
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr.As4()}
		putPort(&sa4.Port, ap.Port())
		return unix.SizeofSockaddrInet4, nil
	}
	var scope uint32
	if zone := addr.Zone(); zone != "" {
		if id, err := strconv.ParseUint(zone, 10, 32); err == nil {
			scope = uint32(id)
		} else if scope, err = zoneIndex(zone); err != nil {
			return 0, err
		}
	}
	*sa = rawSockaddr{Family: unix.AF_INET6, Addr: addr.As16(), Scope_id: scope}
	putPort(&sa.Port, ap.Port())
	return unix.SizeofSockaddrInet6, nil
}

// decodeSockaddr reads the address the kernel wrote into sa. IPv4-mapped
// addresses are unmapped; a nonzero IPv6 scope becomes a numeric zone.
func decodeSockaddr(sa *rawSockaddr, zones *zoneNames) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case unix.AF_INET6:
		addr := netip.AddrFrom16(sa.Addr).Unmap()
		if sa.Scope_id != 0 && addr.Is6() {
			addr = addr.WithZone(zones.name(sa.Scope_id))
		}
		return netip.AddrPortFrom(addr, getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// maxZoneNames bounds the zone cache; beyond it, names are formatted per
// datagram (allocating) rather than letting the cache grow.
const maxZoneNames = 64

// zoneNames caches the numeric zone string of each interface index seen, so
// decoding a link-local source does not allocate. Owned by one reader.
type zoneNames struct {
	m map[uint32]string
}

func (z *zoneNames) name(id uint32) string {
	if s, ok := z.m[id]; ok {
		return s
	}
	s := strconv.FormatUint(uint64(id), 10)
	if len(z.m) < maxZoneNames {
		if z.m == nil {
			z.m = make(map[uint32]string)
		}
		z.m[id] = s
	}
	return s
}
