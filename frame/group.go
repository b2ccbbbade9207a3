package frame

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Scope is the 4-bit IPv6 multicast scope of the fabric's group addresses.
type Scope uint8

// Scopes allowed on the fabric (PROTOCOL §3.2).
const (
	// ScopeLink is link-local (FF02, labs only).
	ScopeLink Scope = 0x2
	// ScopeSite is site-local (FF05 / FF35).
	ScopeSite Scope = 0x5
	// ScopeOrg is organisation-local (FF08).
	ScopeOrg Scope = 0x8
	// ScopeGlobal is global (FF0E / FF3E).
	ScopeGlobal Scope = 0xE
)

// Mode is the multicast service model, which sets the address flags nibble.
type Mode uint8

// Service models.
const (
	// ModeASM is any-source multicast (flags 0).
	ModeASM Mode = 0
	// ModeSSM is source-specific multicast (flags 3, RFC 4607); site and
	// global scope only.
	ModeSSM Mode = 3
)

// Address defaults.
const (
	// DefaultGroupID is the group-id in bytes 12–13 of every group address.
	DefaultGroupID uint16 = 0x000B
	// DefaultDataPort is the UDP port of the multicast data plane.
	DefaultDataPort uint16 = 9001
)

// Configuration errors of group addressing.
var (
	// ErrBadScope means the scope is not link, site, org or global.
	ErrBadScope = errors.New("frame: multicast scope must be link, site, org or global")
	// ErrBadMode means the mode is neither ASM nor SSM.
	ErrBadMode = errors.New("frame: multicast mode must be asm or ssm")
	// ErrSSMScope means SSM was asked for at a scope other than site or global.
	ErrSSMScope = errors.New("frame: ssm needs site or global scope")
	// ErrIPv4Base means the IPv4 group base is not a multicast address with
	// room for 65536 consecutive groups (base+0xFFFF must stay in 224.0.0.0/4).
	ErrIPv4Base = errors.New("frame: ipv4 group base must be multicast with room for 65536 groups")
)

// GroupPrefix returns the first two bytes of the group addresses for scope
// and mode: 0xFF02, 0xFF05, 0xFF08, 0xFF0E (ASM), 0xFF35, 0xFF3E (SSM).
func GroupPrefix(scope Scope, mode Mode) (uint16, error) {
	switch scope {
	case ScopeLink, ScopeSite, ScopeOrg, ScopeGlobal:
	default:
		return 0, ErrBadScope
	}
	switch mode {
	case ModeASM:
	case ModeSSM:
		if scope != ScopeSite && scope != ScopeGlobal {
			return 0, ErrSSMScope
		}
	default:
		return 0, ErrBadMode
	}
	return 0xFF00 | uint16(mode)<<4 | uint16(scope), nil
}

// GroupAddr6 returns the IPv6 group [prefix][10 zero bytes][groupID][idx],
// e.g. ff05::b:3 for site ASM, group-id 0x000B, index 3.
func GroupAddr6(scope Scope, mode Mode, groupID, idx uint16) (netip.Addr, error) {
	p, err := GroupPrefix(scope, mode)
	if err != nil {
		return netip.Addr{}, err
	}
	var a [16]byte
	binary.BigEndian.PutUint16(a[0:], p)
	binary.BigEndian.PutUint16(a[12:], groupID)
	binary.BigEndian.PutUint16(a[14:], idx)
	return netip.AddrFrom16(a), nil
}

// GroupAddr4 returns the IPv4 group base+idx (a 32-bit sum: 239.192.0.0 and
// 3 give 239.192.0.3, 0xFFFE gives 239.192.255.254), the mapping used where
// IPv6 multicast is unavailable (DESIGN "Address families").
func GroupAddr4(base netip.Addr, idx uint16) (netip.Addr, error) {
	b, err := ipv4Base(base)
	if err != nil {
		return netip.Addr{}, err
	}
	return addr4(b + uint32(idx)), nil
}

func ipv4Base(base netip.Addr) (uint32, error) {
	base = base.Unmap()
	if !base.Is4() || !base.IsMulticast() {
		return 0, ErrIPv4Base
	}
	a := base.As4()
	b := binary.BigEndian.Uint32(a[:])
	if b > 0xEFFF_FFFF-0xFFFF {
		return 0, ErrIPv4Base
	}
	return b, nil
}

func addr4(v uint32) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

// Addressable reports whether idx may be used as a destination group: a tx
// shard or BEEF-plane index (below 0x2000) or one of the control groups
// 0xFFFA–0xFFFE. Reserved ranges and the virtual ingredients 0xFFF8/0xFFF9
// are not.
func Addressable(idx uint16) bool {
	return idx < 0x2000 || (idx >= IdxHeader && idx <= IdxBlock)
}
