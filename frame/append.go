package frame

import "encoding/binary"

// AppendHeader appends the header of f to dst and returns the extended
// slice. The layout follows f.Ver (44 bytes for V1, 104 for V3, 66 for V8,
// 92 otherwise, including for an unknown version, which lets tests build
// frames Parse rejects). PayloadLen is len(f.Payload), which must fit in a
// uint32; HeaderLen and Raw are ignored. Fields the version does not carry
// are not written. It does not allocate when dst has the capacity.
func AppendHeader(dst []byte, f *Frame) []byte {
	be := binary.BigEndian
	dst = be.AppendUint32(dst, Magic)
	proto := f.Proto
	if proto == 0 {
		proto = ProtoVer
	}
	dst = be.AppendUint16(dst, proto)
	dst = append(dst, f.Ver, f.Byte7)
	dst = append(dst, f.ID[:]...)
	pl := uint32(len(f.Payload))
	switch f.Ver {
	case VerLegacy:
		return be.AppendUint32(dst, pl)
	case VerBundle:
		dst = be.AppendUint64(dst, f.HashKey)
		dst = be.AppendUint64(dst, f.SeqNum)
		dst = be.AppendUint16(dst, f.GroupIdx)
		dst = append(dst, f.ShardBits, f.Reserved[0])
		dst = be.AppendUint16(dst, f.TxCount)
		return be.AppendUint32(dst, pl)
	}
	dst = be.AppendUint64(dst, f.HashKey)
	dst = be.AppendUint64(dst, f.SeqNum)
	dst = append(dst, f.SubtreeID[:]...)
	dst = be.AppendUint32(dst, pl)
	if f.Ver == VerFrag {
		dst = be.AppendUint32(dst, f.OrigPayloadLen)
		dst = be.AppendUint16(dst, f.FragIndex)
		dst = be.AppendUint16(dst, f.FragTotal)
		dst = append(dst, f.OrigVer)
		dst = append(dst, f.Reserved[:]...)
	}
	return dst
}

// Append appends the whole frame f (header and Payload) to dst and returns
// the extended slice. For a Frame returned by Parse the result equals its Raw
// (except that a received ProtoVer of 0 is written as ProtoVer).
// It does not allocate when dst has the capacity.
func Append(dst []byte, f *Frame) []byte {
	return append(AppendHeader(dst, f), f.Payload...)
}

// Stamp writes hashKey and seq into bytes 40–55 of the frame b in place, as
// the ingress proxy does before forwarding. Every version except V1 carries
// them at these offsets; the caller must have parsed b and checked that it
// is not V1 (where bytes 40–43 are PayloadLen). It panics if len(b) < 56.
func Stamp(b []byte, hashKey, seq uint64) {
	_ = b[offSeqNum+7]
	binary.BigEndian.PutUint64(b[offHashKey:], hashKey)
	binary.BigEndian.PutUint64(b[offSeqNum:], seq)
}
