package frame

import (
	"encoding/binary"
	"net/netip"

	"github.com/cespare/xxhash/v2"
)

// hashInputLen is the size of the HashKey input: source[16] ‖ groupIdx[4] ‖ subtree[32].
const hashInputLen = 16 + 4 + 32

// HashKey returns the flow identifier of PROTOCOL §2: XXH64 with seed 0 over
// src ‖ groupIdx (4 bytes, big-endian) ‖ subtree. src is the stamping
// proxy's identity in 16-byte form (see SourceID); groupIdx and subtree are
// the frame's ingredients (see GroupIndexFor and SubtreeIngredient). It
// does not allocate.
func HashKey(src [16]byte, groupIdx uint32, subtree [32]byte) uint64 {
	var in [hashInputLen]byte
	copy(in[:16], src[:])
	binary.BigEndian.PutUint32(in[16:20], groupIdx)
	copy(in[20:], subtree[:])
	return xxhash.Sum64(in[:])
}

// SourceID returns the 16-byte form of addr used as the HashKey source: an
// IPv6 address as is (zone dropped), an IPv4 address in its IPv4-mapped form
// ::ffff:a.b.c.d (what net.IP.To16 gives). The zero Addr yields all zeros.
func SourceID(addr netip.Addr) [16]byte {
	if !addr.IsValid() {
		return [16]byte{}
	}
	return addr.As16()
}

// CacheKey returns the 16-byte key HashKey‖SeqNum (both big-endian) under
// which retry endpoints cache frames and listeners track NACKs.
func CacheKey(hashKey, seq uint64) [16]byte {
	var k [16]byte
	binary.BigEndian.PutUint64(k[:8], hashKey)
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}
