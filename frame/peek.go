package frame

import "encoding/binary"

// Peek reports the type byte (offset 6) of a datagram whose first four bytes
// are Magic. It does no other validation and never allocates, so a receive
// loop can route each datagram to [Parse] (when [IsFrameVer] holds) or to a
// control-message parser. ok is false for a datagram shorter than
// [PrefixLen] or with a bad magic: drop it.
func Peek(b []byte) (kind uint8, ok bool) {
	if len(b) < PrefixLen || binary.BigEndian.Uint32(b) != Magic {
		return 0, false
	}
	return b[6], true
}

// IsFrameVer reports whether kind is a data-frame version this package
// parses (0x01–0x09), as opposed to a control-message type.
func IsFrameVer(kind uint8) bool {
	return kind >= VerLegacy && kind <= VerBEEF
}
