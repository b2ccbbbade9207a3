package frame

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors returned by Parse and the other decoders. Callers branch
// with errors.Is and count drops by [Reason].
var (
	// ErrTooShort means the datagram is shorter than the header of its version.
	ErrTooShort = errors.New("frame: datagram shorter than header")
	// ErrBadMagic means the first four bytes are not Magic.
	ErrBadMagic = errors.New("frame: bad magic")
	// ErrBadVersion means byte 6 is not a data-frame version (control
	// messages included: dispatch with Peek first).
	ErrBadVersion = errors.New("frame: unknown frame version")
	// ErrTruncated means PayloadLen runs past the end of the datagram.
	// errors.Is(ErrTruncated, io.ErrUnexpectedEOF) holds.
	ErrTruncated = fmt.Errorf("frame: payload length beyond datagram: %w", io.ErrUnexpectedEOF)
	// ErrPayloadTooLarge means PayloadLen exceeds Limits.MaxPayload.
	ErrPayloadTooLarge = errors.New("frame: payload length above limit")
	// ErrBadBlockMsg means a V4 frame (or a fragment of one) carries a
	// MsgType other than 0x01 or 0x02.
	ErrBadBlockMsg = errors.New("frame: bad block message type")
	// ErrBadSubtreeMsg means a V5 frame (or a fragment of one) carries a
	// MsgType other than 0x01 or 0x02.
	ErrBadSubtreeMsg = errors.New("frame: bad subtree message type")
	// ErrBadHeaderLen means a V7 block-header frame does not carry exactly
	// 80 payload bytes.
	ErrBadHeaderLen = errors.New("frame: block header payload is not 80 bytes")
)

// ErrBadFragment is wrapped by every fragment error below, so
// errors.Is(err, ErrBadFragment) catches them all.
var ErrBadFragment = errors.New("frame: bad fragment")

// Fragment errors (PROTOCOL §1.6 and reassembly). Each wraps ErrBadFragment.
var (
	// ErrFragTotalZero means FragTotal is 0.
	ErrFragTotalZero = fmt.Errorf("%w: FragTotal is 0", ErrBadFragment)
	// ErrFragIndex means FragIndex ≥ FragTotal.
	ErrFragIndex = fmt.Errorf("%w: FragIndex not below FragTotal", ErrBadFragment)
	// ErrFragOrigLenZero means OrigPayloadLen is 0.
	ErrFragOrigLenZero = fmt.Errorf("%w: OrigPayloadLen is 0", ErrBadFragment)
	// ErrFragObjectTooLarge means OrigPayloadLen exceeds Limits.MaxObject.
	ErrFragObjectTooLarge = fmt.Errorf("%w: OrigPayloadLen above object limit", ErrBadFragment)
	// ErrFragTotalTooLarge means FragTotal > OrigPayloadLen + 1.
	ErrFragTotalTooLarge = fmt.Errorf("%w: FragTotal above OrigPayloadLen+1", ErrBadFragment)
	// ErrFragLen means the fragment's PayloadLen exceeds OrigPayloadLen.
	ErrFragLen = fmt.Errorf("%w: PayloadLen above OrigPayloadLen", ErrBadFragment)
	// ErrFragOrigVer means OrigFrameVer is not 0x00, 0x02, 0x04, 0x05 or 0x09.
	ErrFragOrigVer = fmt.Errorf("%w: bad OrigFrameVer", ErrBadFragment)
	// ErrFragMismatch means a fragment disagrees with the assembly it was
	// added to (ID, OrigFrameVer, MsgType, SubtreeID/TopicID,
	// OrigPayloadLen or FragTotal).
	ErrFragMismatch = fmt.Errorf("%w: inconsistent with earlier fragments", ErrBadFragment)
	// ErrFragSize means a fragment's length does not fit the chunk size
	// learnt from the other fragments of its assembly.
	ErrFragSize = fmt.Errorf("%w: length inconsistent with chunk size", ErrBadFragment)
)

// Reassembly outcomes that are not malformed input.
var (
	// ErrFragDuplicate means the assembly already holds this FragIndex; the
	// fragment was ignored.
	ErrFragDuplicate = errors.New("frame: duplicate fragment")
	// ErrIncomplete means Reassemble was given a fragment set with gaps.
	ErrIncomplete = errors.New("frame: fragment set incomplete")
)

// Bundle member errors (BRC-142).
var (
	// ErrBundleMember means a member runs past the bundle's PayloadLen.
	ErrBundleMember = errors.New("frame: bundle member past payload")
	// ErrCountMismatch means the members do not consume PayloadLen exactly
	// in TxCount members.
	ErrCountMismatch = errors.New("frame: bundle member count mismatch")
)

// reasons maps each sentinel to its metric label. Specific errors come
// before the errors they wrap.
var reasons = [...]struct {
	err   error
	label string
}{
	{ErrTooShort, "short"},
	{ErrBadMagic, "bad_magic"},
	{ErrBadVersion, "bad_version"},
	{ErrTruncated, "truncated"},
	{ErrPayloadTooLarge, "too_large"},
	{ErrBadBlockMsg, "bad_block_msg"},
	{ErrBadSubtreeMsg, "bad_subtree_msg"},
	{ErrBadHeaderLen, "bad_header_len"},
	{ErrFragTotalZero, "frag_total_zero"},
	{ErrFragIndex, "frag_index"},
	{ErrFragOrigLenZero, "frag_orig_len_zero"},
	{ErrFragObjectTooLarge, "frag_object_too_large"},
	{ErrFragTotalTooLarge, "frag_total_too_large"},
	{ErrFragLen, "frag_len"},
	{ErrFragOrigVer, "frag_orig_ver"},
	{ErrFragMismatch, "frag_mismatch"},
	{ErrFragSize, "frag_size"},
	{ErrBadFragment, "bad_fragment"},
	{ErrFragDuplicate, "frag_duplicate"},
	{ErrIncomplete, "frag_incomplete"},
	{ErrBundleMember, "bundle_member"},
	{ErrCountMismatch, "bundle_count"},
}

// Reason returns a short, stable metric label for an error of this package
// ("short", "bad_magic", "truncated", "too_large", "bad_version",
// "frag_index", …), "" for nil and "other" for any other error. It does not
// allocate.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}

// Reasons returns every label Reason can return except "" and "other", so a
// metrics package can pre-create its counters.
func Reasons() []string {
	out := make([]string, 0, len(reasons))
	for _, r := range reasons {
		out = append(out, r.label)
	}
	return out
}
