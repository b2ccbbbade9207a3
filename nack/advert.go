package nack

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"time"

	"github.com/mcdedup/mcdedup/frame"
)

// ADVERT constants.
const (
	// AdvertLen is the size of an ADVERT message.
	AdvertLen = 56
	// ScopeAll in Advert.Scope means the endpoint beacons at every scope
	// (retry-endpoint "both"/"all"); otherwise Scope is 0x05, 0x08 or 0x0E.
	ScopeAll uint8 = 0xFF
	// TierStaticSeed is the tier of statically configured endpoints; it is
	// never advertised.
	TierStaticSeed uint8 = 0xFF
	// DefaultPreference is the default Preference (higher is preferred).
	DefaultPreference uint8 = 128
	// DefaultBeaconInterval is the default beacon interval in seconds.
	DefaultBeaconInterval uint16 = 60
)

// ADVERT flag bits (Advert.Flags, offset 30). 0x0001 is reserved.
const (
	// FlagHasParent means the endpoint proxies misses to an upstream endpoint.
	FlagHasParent uint16 = 0x0002
	// FlagDraining means the endpoint is shutting down: do not NACK it.
	FlagDraining uint16 = 0x0004
	// FlagUnicastRetransmit means the endpoint retransmits unicast to the
	// NACK source.
	FlagUnicastRetransmit uint16 = 0x0008
	// FlagMulticastRetransmit means the endpoint retransmits to the frame's
	// multicast group.
	FlagMulticastRetransmit uint16 = 0x0010
)

// CapRangeNACK is bit 0 of Advert.Caps: the endpoint serves range NACKs
// (StartSeq < EndSeq, at most MaxRangeNACK long).
const CapRangeNACK uint32 = 0x0000_0001

// Advert is a retry endpoint's beacon (56 bytes), multicast on the beacon
// group every BeaconInterval seconds:
//
//	off 7  Scope           off 27 Preference      off 36 Caps (reserved in BRC-126)
//	off 8  NACKAddr (16)   off 28 BeaconInterval  off 40 reserved (16), zero
//	off 24 NACKPort        off 30 Flags
//	off 26 Tier            off 32 InstanceID
type Advert struct {
	// Scope is byte 7: 0x05 site, 0x08 org, 0x0E global, or ScopeAll.
	Scope uint8
	// NACKAddr is where to send NACKs. An IPv4-mapped address is returned
	// as IPv4; the unspecified address (all zeros) means the sender did not
	// say, so use the ADVERT's source address. Encoded in 16-byte form
	// (IPv4 as ::ffff:a.b.c.d, zone dropped, zero Addr as zeros).
	NACKAddr netip.Addr
	// NACKPort is the endpoint's NACK port (DefaultPort).
	NACKPort uint16
	// Tier orders endpoints: lower tiers are tried first (0–254).
	Tier uint8
	// Preference orders endpoints within a tier: higher first.
	Preference uint8
	// BeaconInterval is the beacon period in seconds; the entry expires
	// after three intervals.
	BeaconInterval uint16
	// Flags holds FlagHasParent, FlagDraining, FlagUnicastRetransmit and
	// FlagMulticastRetransmit; reserved bits are kept as received.
	Flags uint16
	// InstanceID identifies the endpoint instance: InstanceID(hostname).
	InstanceID uint32
	// Caps is the big-endian uint32 at offset 36 carrying capability bits
	// (CapRangeNACK); unknown bits are kept as received.
	Caps uint32
}

// Append appends the 56-byte encoding of a to dst (bytes 40–55 zero). It
// does not allocate when dst has the capacity.
func (a *Advert) Append(dst []byte) []byte {
	be := binary.BigEndian
	dst = appendPrefix(dst, frame.TypeAdvert, a.Scope)
	ip := a.NACKAddr.As16()
	dst = append(dst, ip[:]...)
	dst = be.AppendUint16(dst, a.NACKPort)
	dst = append(dst, a.Tier, a.Preference)
	dst = be.AppendUint16(dst, a.BeaconInterval)
	dst = be.AppendUint16(dst, a.Flags)
	dst = be.AppendUint32(dst, a.InstanceID)
	dst = be.AppendUint32(dst, a.Caps)
	var reserved [AdvertLen - 40]byte
	return append(dst, reserved[:]...)
}

// ParseAdvert decodes an ADVERT from the start of b (bytes 40–55 and any
// bytes after the first 56 are ignored). It does not allocate.
func ParseAdvert(b []byte) (Advert, error) {
	if err := checkPrefix(b, AdvertLen, frame.TypeAdvert, frame.TypeAdvert); err != nil {
		return Advert{}, err
	}
	be := binary.BigEndian
	return Advert{
		Scope:          b[7],
		NACKAddr:       netip.AddrFrom16([16]byte(b[8:24])).Unmap(),
		NACKPort:       be.Uint16(b[24:]),
		Tier:           b[26],
		Preference:     b[27],
		BeaconInterval: be.Uint16(b[28:]),
		Flags:          be.Uint16(b[30:]),
		InstanceID:     be.Uint32(b[32:]),
		Caps:           be.Uint32(b[36:]),
	}, nil
}

// NACKAddrPort returns NACKAddr and NACKPort together.
func (a *Advert) NACKAddrPort() netip.AddrPort { return netip.AddrPortFrom(a.NACKAddr, a.NACKPort) }

// Has reports whether every bit of flag is set in Flags.
func (a *Advert) Has(flag uint16) bool { return a.Flags&flag == flag }

// RangeNACK reports whether the endpoint advertises CapRangeNACK.
func (a *Advert) RangeNACK() bool { return a.Caps&CapRangeNACK != 0 }

// TTL returns how long a listener keeps the entry: three beacon intervals.
func (a *Advert) TTL() time.Duration { return 3 * time.Duration(a.BeaconInterval) * time.Second }

// castagnoli is the CRC-32C table, built once.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// InstanceID returns the ADVERT InstanceID of a host: CRC-32C (Castagnoli)
// of its hostname.
func InstanceID(hostname string) uint32 {
	return crc32.Checksum([]byte(hostname), castagnoli)
}
