package frame

import (
	"errors"
	"math"
)

// Fragmentation sizing (BRC-130, PROTOCOL §6.1).
const (
	// MinMTU is the smallest path MTU fragmentation supports (the IPv6 minimum).
	MinMTU = 1280
	// FragOverhead is the per-fragment overhead within the MTU: IPv6 (40),
	// UDP (8) and the fragment header (104).
	FragOverhead = 40 + 8 + HeaderLenFrag
	// MaxFragDataSize is the largest fragment data that fits a UDP datagram
	// (UDP length field 65535, minus 8 and the fragment header).
	MaxFragDataSize = math.MaxUint16 - 8 - HeaderLenFrag
)

// Fragmentation errors (sender side).
var (
	// ErrNotFragmentable means the frame is not V2, V4, V5 or V9.
	ErrNotFragmentable = errors.New("frame: only V2, V4, V5 and V9 frames can be fragmented")
	// ErrFragArgs means the payload is empty or too large, fragDataSize is
	// below 1, the fragment count exceeds 65535, or the fragment index is out
	// of range.
	ErrFragArgs = errors.New("frame: bad fragmentation arguments")
)

// FragDataSize returns the fragment data size for a path MTU: mtu − 152,
// capped at MaxFragDataSize (1348 at 1500, 8848 at 9000). It returns 0 for
// an MTU below MinMTU: such a configuration must be rejected.
func FragDataSize(mtu int) int {
	if mtu < MinMTU {
		return 0
	}
	return min(mtu-FragOverhead, MaxFragDataSize)
}

// FragmentCount returns how many fragments of fragDataSize bytes a payload of
// payloadLen bytes needs (0 if either is not positive).
func FragmentCount(payloadLen, fragDataSize int) int {
	if payloadLen <= 0 || fragDataSize <= 0 {
		return 0
	}
	return (payloadLen-1)/fragDataSize + 1
}

// AppendFragment appends fragment i of the unfragmented frame f (V2, V4, V5
// or V9) to dst. Fragment i carries payload bytes [i×fragDataSize,
// min((i+1)×fragDataSize, len)) — fixed-size chunks, the last one shorter —
// under a 104-byte header whose bytes 0–91 are f's header with FrameVer 0x03
// (byte 7 keeps f.Byte7, the MsgType of V4/V5), followed by OrigPayloadLen,
// FragIndex, FragTotal, OrigFrameVer = f.Ver and Reserved2 = 0. HashKey and
// SeqNum are f's: the caller stamps each fragment with its own SeqNum. It
// does not allocate when dst has the capacity.
func AppendFragment(dst []byte, f *Frame, fragDataSize, i int) ([]byte, error) {
	total, err := fragmentTotal(f, fragDataSize)
	if err != nil {
		return dst, err
	}
	if i < 0 || i >= total {
		return dst, ErrFragArgs
	}
	n := len(f.Payload)
	start := i * fragDataSize
	end := min(start+fragDataSize, n)
	h := Frame{
		Ver:            VerFrag,
		Byte7:          f.Byte7,
		ID:             f.ID,
		HashKey:        f.HashKey,
		SeqNum:         f.SeqNum,
		SubtreeID:      f.SubtreeID,
		Payload:        f.Payload[start:end],
		OrigPayloadLen: uint32(n),
		FragIndex:      uint16(i),
		FragTotal:      uint16(total),
		OrigVer:        f.Ver,
	}
	return Append(dst, &h), nil
}

// Fragment returns every fragment of f (see AppendFragment), each a slice of
// one newly allocated buffer. It is the convenient form for tools and tests;
// hot paths use AppendFragment into reused buffers.
func Fragment(f *Frame, fragDataSize int) ([][]byte, error) {
	total, err := fragmentTotal(f, fragDataSize)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, total*HeaderLenFrag+len(f.Payload))
	out := make([][]byte, total)
	for i := range total {
		start := len(buf)
		buf, _ = AppendFragment(buf, f, fragDataSize, i)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out, nil
}

// fragmentTotal validates a fragmentation request and returns its fragment count.
func fragmentTotal(f *Frame, fragDataSize int) (int, error) {
	switch f.Ver {
	case VerTx, VerBlock, VerSubtree, VerBEEF:
	default:
		return 0, ErrNotFragmentable
	}
	n := len(f.Payload)
	total := FragmentCount(n, fragDataSize)
	if total == 0 || total > math.MaxUint16 || uint64(n) > math.MaxUint32 {
		return 0, ErrFragArgs
	}
	return total, nil
}
