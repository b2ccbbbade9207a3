package frame

import "encoding/binary"

// Default limits applied by Parse and by a zero Limits.
const (
	// DefaultMaxPayload bounds PayloadLen of one frame (10 MiB). A UDP
	// datagram never comes close; it bounds what a TCP reader allocates.
	DefaultMaxPayload = 10 << 20
	// DefaultMaxObject bounds the OrigPayloadLen of a fragmented object
	// (64 MiB), and so the memory of one reassembly.
	DefaultMaxObject = 64 << 20
)

// Limits configures the bounds Parse enforces. The zero value applies the
// defaults; a zero field means its default.
type Limits struct {
	// MaxPayload is the largest accepted PayloadLen; 0 means DefaultMaxPayload.
	MaxPayload int
	// MaxObject is the largest accepted fragment OrigPayloadLen (and
	// reassembled object); 0 means DefaultMaxObject.
	MaxObject int
}

func (l Limits) maxPayload() uint64 {
	if l.MaxPayload <= 0 {
		return DefaultMaxPayload
	}
	return uint64(l.MaxPayload)
}

func (l Limits) maxObject() uint64 {
	if l.MaxObject <= 0 {
		return DefaultMaxObject
	}
	return uint64(l.MaxObject)
}

// Parse parses one data frame with the default Limits. See Limits.Parse.
func Parse(b []byte) (Frame, error) { return Limits{}.Parse(b) }

// Size decodes the lengths of the frame at the start of b, which must hold
// at least its header (HeaderLen(b[6]) bytes): it checks magic, version and
// PayloadLen against MaxPayload, but not whether the payload is present. A
// stream reader calls it on the header to learn how many payload bytes to
// read before allocating anything.
func (l Limits) Size(b []byte) (headerLen, payloadLen int, err error) {
	if len(b) < PrefixLen {
		return 0, 0, ErrTooShort
	}
	if binary.BigEndian.Uint32(b) != Magic {
		return 0, 0, ErrBadMagic
	}
	hl := HeaderLen(b[6])
	if hl == 0 {
		return 0, 0, ErrBadVersion
	}
	if len(b) < hl {
		return 0, 0, ErrTooShort
	}
	var pl uint32
	switch hl {
	case HeaderLenLegacy:
		pl = binary.BigEndian.Uint32(b[offLegacyLen:])
	case HeaderLenBundle:
		pl = binary.BigEndian.Uint32(b[offBundlePayload:])
	default:
		pl = binary.BigEndian.Uint32(b[offPayload:])
	}
	if uint64(pl) > l.maxPayload() {
		return 0, 0, ErrPayloadTooLarge
	}
	return hl, int(pl), nil
}

// Parse parses the data frame at the start of b. It never allocates: the
// returned Frame's Payload and Raw are views into b (with capacity clipped to
// their length, so appending to them cannot overwrite b). Bytes after the
// frame's PayloadLen are ignored and excluded from Raw. On error the Frame is
// zero and the error is one of this package's sentinels (see Reason).
//
// Every version 0x01–0x09 is recognised; V8 bundle members are not decoded
// (see BundleMembers). Control messages (byte 6 ≥ 0x10) yield ErrBadVersion:
// dispatch with Peek first.
func (l Limits) Parse(b []byte) (f Frame, err error) {
	err = l.ParseInto(&f, b)
	return f, err
}

// ParseInto is Parse writing the frame into *f, for callers that keep
// frames in place (a receive batch's array): no Frame is copied. On error
// *f is the zero Frame.
func (l Limits) ParseInto(f *Frame, b []byte) error {
	*f = Frame{}
	hl, pl, err := l.Size(b)
	if err != nil {
		return err
	}
	end := hl + pl
	if end > len(b) {
		return ErrTruncated
	}
	f.Proto = binary.BigEndian.Uint16(b[4:])
	f.Ver, f.Byte7 = b[6], b[7]
	copy(f.ID[:], b[offID:offID+32])
	f.HeaderLen = hl
	f.Payload = b[hl:end:end]
	f.Raw = b[:end:end]
	switch f.Ver {
	case VerLegacy:
		return nil
	case VerBundle:
		f.HashKey = binary.BigEndian.Uint64(b[offHashKey:])
		f.SeqNum = binary.BigEndian.Uint64(b[offSeqNum:])
		f.GroupIdx = binary.BigEndian.Uint16(b[offBundleGroup:])
		f.ShardBits = b[offBundleBits]
		f.Reserved[0] = b[offBundleRsv]
		f.TxCount = binary.BigEndian.Uint16(b[offBundleCount:])
		return nil
	}
	f.HashKey = binary.BigEndian.Uint64(b[offHashKey:])
	f.SeqNum = binary.BigEndian.Uint64(b[offSeqNum:])
	copy(f.SubtreeID[:], b[offSubtree:offSubtree+32])
	switch f.Ver {
	case VerBlock:
		err = checkBlockMsg(f.Byte7)
	case VerSubtree:
		err = checkSubtreeMsg(f.Byte7)
	case VerHeader:
		if pl != HeaderPayloadLen {
			err = ErrBadHeaderLen
		}
	case VerFrag:
		f.OrigPayloadLen = binary.BigEndian.Uint32(b[offOrigLen:])
		f.FragIndex = binary.BigEndian.Uint16(b[offFragIndex:])
		f.FragTotal = binary.BigEndian.Uint16(b[offFragTotal:])
		f.OrigVer = b[offOrigVer]
		copy(f.Reserved[:], b[offReserved2:offReserved2+3])
		err = l.checkFragment(f)
	}
	if err != nil {
		*f = Frame{}
		return err
	}
	return nil
}

func checkBlockMsg(t uint8) error {
	if t != MsgBlockAnnounce && t != MsgBlockCoinbase {
		return ErrBadBlockMsg
	}
	return nil
}

func checkSubtreeMsg(t uint8) error {
	if t != MsgSubtreeHashes && t != MsgSubtreeFull {
		return ErrBadSubtreeMsg
	}
	return nil
}

// checkFragment applies the BRC-130 drop rules (PROTOCOL §1.6) to the
// fragment fields of f.
func (l Limits) checkFragment(f *Frame) error {
	switch {
	case f.FragTotal == 0:
		return ErrFragTotalZero
	case f.FragIndex >= f.FragTotal:
		return ErrFragIndex
	case f.OrigPayloadLen == 0:
		return ErrFragOrigLenZero
	case uint64(f.OrigPayloadLen) > l.maxObject():
		return ErrFragObjectTooLarge
	case uint64(f.FragTotal) > uint64(f.OrigPayloadLen)+1:
		return ErrFragTotalTooLarge
	case uint64(len(f.Payload)) > uint64(f.OrigPayloadLen):
		return ErrFragLen
	}
	switch fragOrigVer(f.OrigVer) {
	case 0:
		return ErrFragOrigVer
	case VerBlock:
		return checkBlockMsg(f.Byte7)
	case VerSubtree:
		return checkSubtreeMsg(f.Byte7)
	}
	return nil
}
