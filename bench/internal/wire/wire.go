// Package wire is the frame layout of the bench tools: BRC-124 frames
// (PROTOCOL §1.4) whose payload starts with an 8-byte send timestamp and an
// 8-byte frame index, both big-endian, so a sink on the same host measures
// latency and identifies frames. Frames are built in place in reused buffers:
// Init writes the constant parts once, Set the per-frame fields.
package wire

import (
	"encoding/binary"

	"github.com/mcdedup/mcdedup/frame"
)

const (
	// StampLen is the size of the payload prefix: timestamp and index.
	StampLen = 16
	// MinPayload is the smallest payload the tools send.
	MinPayload = StampLen
	// MaxPayload is the largest payload the tools send: a 65,507-byte UDP
	// datagram (the IPv4 maximum) less the 92-byte header, rounded down.
	MaxPayload = 65400
	// MaxFrame is the largest frame the tools send or accept.
	MaxFrame = frame.HeaderLenStd + MaxPayload
)

// Field offsets of a BRC-124 frame.
const (
	offTxID       = 8
	offHashKey    = 40
	offSubtree    = 56
	offPayloadLen = 88
)

// Init prepares buf, which must hold the largest frame it will carry, for
// Set: it writes the BRC-124 header constants and fills the payload area
// beyond the stamp with a fixed pattern.
func Init(buf []byte) {
	hdr := frame.AppendHeader(buf[:0], &frame.Frame{Ver: frame.VerTx})
	for i := len(hdr) + StampLen; i < len(buf); i++ {
		buf[i] = byte(i * 31)
	}
}

// Set writes the per-frame fields into a buffer prepared by Init and returns
// the frame: TxID, HashKey and SeqNum (0 for unstamped frames), SubtreeID and
// a PayloadLen of n (MinPayload ≤ n, HeaderLenStd+n ≤ len(buf)). The stamp is
// written later by SetStamp, just before sending. It does not allocate.
func Set(buf []byte, txid, subtree *[32]byte, hashKey, seq uint64, n int) []byte {
	copy(buf[offTxID:offHashKey], txid[:])
	frame.Stamp(buf, hashKey, seq)
	copy(buf[offSubtree:offPayloadLen], subtree[:])
	binary.BigEndian.PutUint32(buf[offPayloadLen:], uint32(n))
	return buf[:frame.HeaderLenStd+n]
}

// SetStamp writes the send timestamp (Unix nanoseconds) and the frame index
// at the start of the payload of frame f.
func SetStamp(f []byte, sendNanos int64, index uint64) {
	binary.BigEndian.PutUint64(f[frame.HeaderLenStd:], uint64(sendNanos))
	binary.BigEndian.PutUint64(f[frame.HeaderLenStd+8:], index)
}

// Stamp reads the timestamp and index from a frame's payload; ok is false
// when the payload is shorter than StampLen.
func Stamp(payload []byte) (sendNanos int64, index uint64, ok bool) {
	if len(payload) < StampLen {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(payload)), binary.BigEndian.Uint64(payload[8:]), true
}

// Shard returns the shard group of a frame's TxID for the given width, as
// the proxy and the relay compute it.
func Shard(txid *[32]byte, bits uint) uint16 { return uint16(frame.ShardIndex(txid, bits)) }
