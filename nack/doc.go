// Package nack is the wire codec of BRC-126 retransmission: the NACK a
// listener sends to a retry endpoint, the MISS / ACK / THROTTLED replies, and
// the ADVERT beacon by which endpoints announce themselves. It holds messages
// only: no sockets, no gap tracking.
//
// Every message starts with frame.Magic, a ProtoVer and a type byte at offset
// 6, so receivers dispatch with frame.Peek. Each type has an Append method
// and a Parse function; neither allocates.
//
// # Strict and lenient fields
//
// Parsers are strict about what makes a message unusable: a datagram shorter
// than the message (ErrShort), a bad magic (ErrBadMagic), another type
// (ErrWrongType) and, for NACKs, an inverted or oversized range (ErrBadRange,
// ErrRangeTooLong). They are lenient about what a peer may legitimately
// extend, for interoperability: ProtoVer is not checked, reserved flag bits
// and fields that the spec says are zero (MISS SeqNum, ACK and NACK flag bits
// beyond those defined, ADVERT flag 0x0001 and bytes 40–55) are accepted,
// and bytes after the fixed message length are ignored. Flags and the ADVERT
// capability word are kept as received; ADVERT bytes 40–55 are dropped.
// Encoders always emit the exact fixed length (64, 16 and 56 bytes), which
// the reference endpoint requires.
//
// # Range NACKs
//
// A NACK with StartSeq < EndSeq asks for every SeqNum of the inclusive range
// in one message. BRC-126 reserves ranges, so a listener sends them only to
// endpoints whose ADVERT carries CapRangeNACK (bit 0 of the big-endian uint32
// at offset 36, reserved in BRC-126); others get one NACK per SeqNum. A range
// covers at most MaxRangeNACK sequence numbers, which bounds the retransmit
// burst one 64-byte request can trigger; ParseNACK rejects longer ranges.
package nack
