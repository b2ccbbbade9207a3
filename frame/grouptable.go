package frame

import (
	"encoding/binary"
	"net/netip"
)

// GroupConfig describes one family of group addresses. Zero fields mean
// their defaults, so the zero GroupConfig is site-scope ASM IPv6 with
// group-id 0x000B on port 9001.
type GroupConfig struct {
	// IPv4Base, when valid, selects the IPv4 mapping base+idx; Scope, Mode
	// and GroupID are then ignored.
	IPv4Base netip.Addr
	// Scope is the IPv6 scope; 0 means ScopeSite.
	Scope Scope
	// Mode is ASM or SSM; the zero value is ModeASM.
	Mode Mode
	// GroupID fills bytes 12–13 of the IPv6 address; 0 means DefaultGroupID.
	GroupID uint16
	// Port is the UDP port of every group; 0 means DefaultDataPort.
	Port uint16
}

// GroupTable maps a 16-bit group index to its multicast address and port.
// It stores a 16-byte template (or an IPv4 base) and fills in the index on
// each lookup: two byte writes and no allocation, the same cost as a table
// load, without a 1.5 MiB table per family polluting the cache. Build it
// with NewGroupTable; it is immutable and safe for concurrent use.
type GroupTable struct {
	tmpl  [16]byte // IPv6 address with the index bytes zero
	base4 uint32   // IPv4 base when v4
	v4    bool
	port  uint16
}

// NewGroupTable validates c and returns its table.
func NewGroupTable(c GroupConfig) (GroupTable, error) {
	t := GroupTable{port: c.Port}
	if t.port == 0 {
		t.port = DefaultDataPort
	}
	if c.IPv4Base.IsValid() {
		b, err := ipv4Base(c.IPv4Base)
		if err != nil {
			return GroupTable{}, err
		}
		t.base4, t.v4 = b, true
		return t, nil
	}
	scope, gid := c.Scope, c.GroupID
	if scope == 0 {
		scope = ScopeSite
	}
	if gid == 0 {
		gid = DefaultGroupID
	}
	p, err := GroupPrefix(scope, c.Mode)
	if err != nil {
		return GroupTable{}, err
	}
	binary.BigEndian.PutUint16(t.tmpl[0:], p)
	binary.BigEndian.PutUint16(t.tmpl[12:], gid)
	return t, nil
}

// IP returns the group address of index idx.
func (t GroupTable) IP(idx uint16) netip.Addr {
	if t.v4 {
		return addr4(t.base4 + uint32(idx))
	}
	a := t.tmpl
	binary.BigEndian.PutUint16(a[14:], idx)
	return netip.AddrFrom16(a)
}

// Addr returns the group address and port of index idx. It does not
// allocate.
func (t GroupTable) Addr(idx uint16) netip.AddrPort {
	return netip.AddrPortFrom(t.IP(idx), t.port)
}

// IsIPv4 reports whether the table uses the IPv4 mapping.
func (t GroupTable) IsIPv4() bool { return t.v4 }

// Port returns the UDP port of every group of the table.
func (t GroupTable) Port() uint16 { return t.port }
