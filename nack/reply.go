package nack

import (
	"encoding/binary"
	"time"

	"github.com/mcdedup/mcdedup/frame"
)

// Reply constants.
const (
	// ReplyLen is the size of a MISS, ACK or THROTTLED message.
	ReplyLen = 16
	// AckMulticastSent in an ACK's Flags means the frame was retransmitted to
	// its multicast group.
	AckMulticastSent uint8 = 0x01
	// AckUnicastSent in an ACK's Flags means the frame was sent unicast to
	// the NACK source (a promise until it arrives).
	AckUnicastSent uint8 = 0x02
	// ThrottleBase is the hold unit of a THROTTLED reply: hold the gap for
	// ThrottleBase << bucket.
	ThrottleBase = 125 * time.Millisecond
)

// Reply is an endpoint's answer to a NACK (16 bytes): MISS (frame.TypeMISS),
// ACK (frame.TypeACK) or THROTTLED (frame.TypeThrottled).
//
//	         Flags (off 7)                       SeqNum (off 8)
//	MISS     0                                   0
//	ACK      AckMulticastSent | AckUnicastSent   SeqNum retransmitted
//	THROTT.  low nibble = backoff bucket         echo of StartSeq
type Reply struct {
	// Type is frame.TypeMISS, frame.TypeACK or frame.TypeThrottled.
	Type uint8
	// Flags is byte 7, kept as received (reserved bits included).
	Flags uint8
	// SeqNum is the SeqNum the reply is about (0 in a MISS per BRC-126).
	SeqNum uint64
}

// Append appends the 16-byte encoding of r to dst. It does not allocate when
// dst has the capacity.
func (r *Reply) Append(dst []byte) []byte {
	dst = appendPrefix(dst, r.Type, r.Flags)
	return binary.BigEndian.AppendUint64(dst, r.SeqNum)
}

// ParseReply decodes a MISS, ACK or THROTTLED reply from the start of b
// (bytes after the first 16 are ignored). It does not allocate.
func ParseReply(b []byte) (Reply, error) {
	if err := checkPrefix(b, ReplyLen, frame.TypeMISS, frame.TypeThrottled); err != nil {
		return Reply{}, err
	}
	return Reply{Type: b[6], Flags: b[7], SeqNum: binary.BigEndian.Uint64(b[8:])}, nil
}

// Bucket returns the backoff bucket of a THROTTLED reply (low nibble of Flags).
func (r *Reply) Bucket() uint8 { return r.Flags & 0x0F }

// Hold returns the suggested hold of a THROTTLED reply, ThrottleBase << Bucket
// (at most about 68 minutes; listeners clamp it).
func (r *Reply) Hold() time.Duration { return ThrottleBase << r.Bucket() }
