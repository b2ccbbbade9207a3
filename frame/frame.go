package frame

// Frame is the parsed view of one data frame, any version. Fixed-size fields
// are copied out of the datagram; Payload and Raw alias it (no copy, no
// allocation) and are valid only while the caller keeps that buffer.
//
// Fields not carried by a version are zero: V1 has no HashKey, SeqNum or
// SubtreeID; only V3 has the fragment fields; only V8 has the bundle fields
// (and its off-56 area holds them, so SubtreeID is zero for V8: the bundle's
// SubtreeID is ID).
//
// To build a frame, fill Ver, Byte7, ID, the version's fields and Payload,
// then call [Append]; HeaderLen and Raw are outputs of [Parse] that encoders
// ignore.
type Frame struct {
	// Proto is the ProtoVer at offset 4 as received. It is informational
	// and not validated; 0 encodes as ProtoVer, so builders leave it zero.
	Proto uint16
	// Ver is byte 6, the frame version (VerLegacy … VerBEEF).
	Ver uint8
	// Byte7 is reserved (V1, V2, V6, V7, V9), the MsgType (V4, V5 and their
	// fragments) or the bundle Flags (V8). Kept as received.
	Byte7 uint8
	// ID is the 32 bytes at offset 8: TxID (V1, V2, V6), BlockHash (V4
	// announce, V7), CoinbaseTxID (V4 coinbase), SubtreeID (V5, V8),
	// ContentID (V9), the reassembled object's ID (V3). Internal byte order.
	ID [32]byte
	// HashKey is the flow identifier at offset 40; 0 means unstamped.
	HashKey uint64
	// SeqNum is the per-flow sequence number at offset 48; 0 means unstamped.
	SeqNum uint64
	// SubtreeID is the 32 bytes at offset 56: SubtreeID (V2), TopicID (V9),
	// the original frame's value (V3), LayoutPad32 (V4–V7, normally zero).
	// Zero for V1 and V8.
	SubtreeID [32]byte

	// HeaderLen is the header size of Ver, set by Parse.
	HeaderLen int
	// Payload is the payload (V3: this fragment's data; V8: the member
	// section), a view into the parsed buffer.
	Payload []byte
	// Raw is the whole frame, header and payload, without any trailing
	// bytes of the datagram; a view into the parsed buffer, set by Parse.
	Raw []byte

	// OrigPayloadLen is the reassembled payload size (V3).
	OrigPayloadLen uint32
	// FragIndex is the 0-based fragment index (V3).
	FragIndex uint16
	// FragTotal is the number of fragments of the object (V3).
	FragTotal uint16
	// OrigVer is the frame version of the fragmented frame (V3): 0x00 or
	// 0x02 (tx), 0x04, 0x05 or 0x09.
	OrigVer uint8

	// GroupIdx is the group the bundle was built for (V8).
	GroupIdx uint16
	// ShardBits is the shard width the bundle was built with (V8); 0 = unset.
	ShardBits uint8
	// TxCount is the number of bundle members (V8).
	TxCount uint16

	// Reserved holds reserved bytes as received, so Append reproduces a
	// peer's frame exactly: V3 bytes 101–103 (Reserved2), V8 byte 59 in
	// Reserved[0]. Zero when building new frames.
	Reserved [3]byte
}

// IsStamped reports whether the frame carries a SeqNum, i.e. it was stamped
// upstream and a proxy must forward it verbatim as a relay.
func (f *Frame) IsStamped() bool { return f.SeqNum != 0 }

// Key returns the 16-byte cache and NACK key HashKey‖SeqNum of the frame.
func (f *Frame) Key() [16]byte { return CacheKey(f.HashKey, f.SeqNum) }
