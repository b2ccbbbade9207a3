package nack

import (
	"encoding/binary"

	"github.com/mcdedup/mcdedup/frame"
)

// appendPrefix appends Magic ‖ ProtoVer ‖ typ ‖ b7, the first 8 bytes of
// every BRC-126 message.
func appendPrefix(dst []byte, typ, b7 uint8) []byte {
	dst = binary.BigEndian.AppendUint32(dst, frame.Magic)
	dst = binary.BigEndian.AppendUint16(dst, frame.ProtoVer)
	return append(dst, typ, b7)
}

// checkPrefix validates length, magic and type of a message of size bytes
// whose type byte must lie in [lo, hi].
func checkPrefix(b []byte, size int, lo, hi uint8) error {
	if len(b) < size {
		return ErrShort
	}
	if binary.BigEndian.Uint32(b) != frame.Magic {
		return ErrBadMagic
	}
	if b[6] < lo || b[6] > hi {
		return ErrWrongType
	}
	return nil
}
