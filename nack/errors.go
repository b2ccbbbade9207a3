package nack

import "errors"

// Sentinel errors of the parsers. Callers branch with errors.Is and count
// drops by Reason.
var (
	// ErrShort means the datagram is shorter than the message.
	ErrShort = errors.New("nack: message too short")
	// ErrBadMagic means the first four bytes are not frame.Magic.
	ErrBadMagic = errors.New("nack: bad magic")
	// ErrWrongType means byte 6 is not the type the parser decodes.
	ErrWrongType = errors.New("nack: wrong message type")
	// ErrBadRange means a NACK's EndSeq is below its StartSeq.
	ErrBadRange = errors.New("nack: EndSeq below StartSeq")
	// ErrRangeTooLong means a NACK covers more than MaxRangeNACK SeqNums.
	ErrRangeTooLong = errors.New("nack: range longer than MaxRangeNACK")
)

// Reason returns a short, stable metric label for an error of this package
// ("short", "bad_magic", "wrong_type", "bad_range", "range_too_long"), ""
// for nil and "other" for any other error. It does not allocate.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrShort):
		return "short"
	case errors.Is(err, ErrBadMagic):
		return "bad_magic"
	case errors.Is(err, ErrWrongType):
		return "wrong_type"
	case errors.Is(err, ErrBadRange):
		return "bad_range"
	case errors.Is(err, ErrRangeTooLong):
		return "range_too_long"
	}
	return "other"
}
