package nack

import (
	"encoding/binary"

	"github.com/mcdedup/mcdedup/frame"
)

// Message sizes and NACK constants.
const (
	// NACKLen is the size of a NACK message.
	NACKLen = 64
	// FlagProxied marks a NACK an endpoint forwards upstream on behalf of its
	// own domain; the upstream answers it unicast and never re-proxies it.
	FlagProxied uint8 = 0x01
	// MaxRangeNACK is the most SeqNums one range NACK may cover
	// (EndSeq − StartSeq + 1). At a 1500-byte MTU it bounds the retransmit
	// burst of one NACK to about 94 KiB.
	MaxRangeNACK = 64
	// DefaultPort is the UDP port endpoints receive NACKs on (advertised in
	// ADVERT); listeners' beacon port defaults to it too.
	DefaultPort uint16 = 9300
)

// NACK is a BRC-126 retransmission request (64 bytes, listener → endpoint):
//
//	off 7  Flags (bit 0 Proxied)   off 16 StartSeq (inclusive)
//	off 8  HashKey                 off 24 EndSeq (inclusive)
//	                               off 32 SubtreeID (informational)
type NACK struct {
	// Flags is byte 7: FlagProxied; other bits are reserved and kept as received.
	Flags uint8
	// HashKey is the flow of the missing frames; 0 bypasses the endpoint's
	// per-flow rate limit.
	HashKey uint64
	// StartSeq is the first missing SeqNum.
	StartSeq uint64
	// EndSeq is the last missing SeqNum: equal to StartSeq for a single
	// frame, above it for a range NACK (see MaxRangeNACK).
	EndSeq uint64
	// SubtreeID is informational (zeros for BEEF) and not used for lookup.
	SubtreeID [32]byte
}

// Append appends the 64-byte encoding of n to dst. It does not allocate when
// dst has the capacity.
func (n *NACK) Append(dst []byte) []byte {
	dst = appendPrefix(dst, frame.TypeNACK, n.Flags)
	dst = binary.BigEndian.AppendUint64(dst, n.HashKey)
	dst = binary.BigEndian.AppendUint64(dst, n.StartSeq)
	dst = binary.BigEndian.AppendUint64(dst, n.EndSeq)
	return append(dst, n.SubtreeID[:]...)
}

// ParseNACK decodes a NACK from the start of b (bytes after the first 64
// are ignored). It rejects a range with EndSeq < StartSeq (ErrBadRange) or
// longer than MaxRangeNACK (ErrRangeTooLong). It does not allocate.
func ParseNACK(b []byte) (NACK, error) {
	if err := checkPrefix(b, NACKLen, frame.TypeNACK, frame.TypeNACK); err != nil {
		return NACK{}, err
	}
	n := NACK{
		Flags:    b[7],
		HashKey:  binary.BigEndian.Uint64(b[8:]),
		StartSeq: binary.BigEndian.Uint64(b[16:]),
		EndSeq:   binary.BigEndian.Uint64(b[24:]),
	}
	copy(n.SubtreeID[:], b[32:64])
	if n.EndSeq < n.StartSeq {
		return NACK{}, ErrBadRange
	}
	if n.EndSeq-n.StartSeq >= MaxRangeNACK {
		return NACK{}, ErrRangeTooLong
	}
	return n, nil
}

// Proxied reports whether FlagProxied is set.
func (n *NACK) Proxied() bool { return n.Flags&FlagProxied != 0 }

// IsRange reports whether n asks for more than one SeqNum.
func (n *NACK) IsRange() bool { return n.EndSeq > n.StartSeq }

// Count returns the number of SeqNums n asks for (EndSeq − StartSeq + 1),
// or 0 if EndSeq < StartSeq.
func (n *NACK) Count() uint64 {
	if n.EndSeq < n.StartSeq {
		return 0
	}
	return n.EndSeq - n.StartSeq + 1
}

// Key returns the endpoint's lookup key HashKey‖StartSeq.
func (n *NACK) Key() [16]byte { return frame.CacheKey(n.HashKey, n.StartSeq) }
