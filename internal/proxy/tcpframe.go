package proxy

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"time"

	"github.com/mcdedup/mcdedup/frame"
)

// tcpBufSize is the read buffer of one TCP connection: frames that fit are
// returned as views into it, several per read; larger frames get a buffer
// of their own that grows as their bytes arrive.
const tcpBufSize = 64 << 10

// tcpPrefix is how much of a frame the stream reader reads before it knows
// the frame's length (PROTOCOL §3.4): the V1 header, the shortest there is.
const tcpPrefix = frame.HeaderLenLegacy

// Errors of the stream reader. A malformed stream is a *streamError naming
// the drop reason; timeouts and a stream cut inside a frame close the
// connection too.
var (
	// errNeedRead means the next frame is not fully buffered and the caller
	// asked not to block: process what was returned so far, then call again.
	errNeedRead = errors.New("proxy: tcp: frame not buffered")
	// errIdle means no frame started within the idle timeout.
	errIdle = errors.New("proxy: tcp: idle timeout")
	// errSlow means a started frame did not complete within the read
	// timeout (slow sender or slow-loris).
	errSlow = errors.New("proxy: tcp: frame read timeout")
)

// streamError reports a malformed frame header: the stream cannot be
// resynchronised, so the connection is closed and the frame counted as a
// drop under reason.
type streamError struct{ reason dropReason }

func (e *streamError) Error() string {
	return "proxy: tcp: malformed stream: " + reasonLabels[e.reason]
}

// streamReader cuts a TCP byte stream into frames (PROTOCOL §3.4): it reads
// the first 44 bytes, branches on byte 6 (a data frame's header length and
// PayloadLen, validated by frame.Limits.Size before anything is allocated;
// 64 bytes for a 0x30 announce) and returns each whole frame as a view. It
// never allocates for a frame larger than what has arrived: a big frame's
// buffer grows by doubling as its bytes come in, capped at the declared
// length, which Limits.MaxPayload bounds.
type streamReader struct {
	r      io.Reader
	limits frame.Limits
	// setDeadline sets the read deadline of the connection; nil means no
	// deadlines (tests, the fuzzer).
	setDeadline         func(time.Time) error
	idleTimeout, readTO time.Duration

	buf        []byte // tcpBufSize; buf[start:end] is buffered, unread
	start, end int
	deadline   time.Time // last deadline set
}

// newStreamReader returns a reader of frames from r.
func newStreamReader(r io.Reader, limits frame.Limits, setDeadline func(time.Time) error, idle, read time.Duration) *streamReader {
	return &streamReader{r: r, limits: limits, setDeadline: setDeadline, idleTimeout: idle, readTO: read,
		buf: make([]byte, tcpBufSize)}
}

// next returns the next frame, a view valid until a call to next that reads
// from the connection (with wait false, next never reads while a frame is
// buffered, so views of earlier frames stay valid until the caller processes
// them). Without wait it returns errNeedRead instead of reading. At a frame
// boundary an orderly close gives io.EOF; inside a frame io.ErrUnexpectedEOF.
func (s *streamReader) next(wait bool) ([]byte, error) {
	var frameStart time.Time
	if s.end > s.start {
		frameStart = time.Now() // bytes of this frame are here already
	}
	total, err := s.frameLen(wait, &frameStart)
	if err != nil {
		return nil, err
	}
	if total > len(s.buf) {
		if !wait {
			return nil, errNeedRead
		}
		return s.readBig(total, &frameStart)
	}
	if err := s.need(total, wait, &frameStart); err != nil {
		return nil, err
	}
	b := s.buf[s.start : s.start+total : s.start+total]
	s.start += total
	return b, nil
}

// frameLen reads the header of the next frame and returns the frame's
// total length, checked against the limits before anything is allocated.
func (s *streamReader) frameLen(wait bool, frameStart *time.Time) (int, error) {
	if err := s.need(tcpPrefix, wait, frameStart); err != nil {
		return 0, err
	}
	h := s.buf[s.start:s.end]
	if binary.BigEndian.Uint32(h) != frame.Magic {
		return 0, &streamError{frameReasons["bad_magic"]}
	}
	kind := h[6]
	if kind == frame.TypeSubtreeAnnounce {
		return announceLen, nil
	}
	hl := frame.HeaderLen(kind)
	switch {
	case hl == 0 && kind >= frame.TypeNACK:
		return 0, &streamError{reasonUnexpectedControl}
	case hl == 0:
		return 0, &streamError{frameReasons["bad_version"]}
	}
	if err := s.need(hl, wait, frameStart); err != nil {
		return 0, err
	}
	_, pl, err := s.limits.Size(s.buf[s.start:s.end])
	if err != nil {
		return 0, &streamError{reasonOf(err)}
	}
	return hl + pl, nil
}

// need makes at least n bytes of the current frame buffered, reading (with
// wait) under the idle deadline until the frame's first byte and then under
// the frame's read deadline. It moves buffered bytes to the front first when
// the frame would not fit behind them.
func (s *streamReader) need(n int, wait bool, frameStart *time.Time) error {
	for s.end-s.start < n {
		if !wait {
			return errNeedRead
		}
		if s.start+n > len(s.buf) {
			s.end = copy(s.buf, s.buf[s.start:s.end])
			s.start = 0
		}
		k, err := s.read(s.buf[s.end:], frameStart)
		s.end += k
		if err != nil {
			return err
		}
	}
	return nil
}

// readBig reads a frame larger than the read buffer into a buffer of its
// own that starts with what is buffered and doubles as bytes arrive, up to
// total. Every buffered byte belongs to this frame, which is longer.
func (s *streamReader) readBig(total int, frameStart *time.Time) ([]byte, error) {
	have := s.buf[s.start:s.end]
	b := make([]byte, len(have), min(total, 2*len(s.buf)))
	copy(b, have)
	s.start, s.end = 0, 0
	for len(b) < total {
		if len(b) == cap(b) {
			b = append(make([]byte, 0, min(total, 2*cap(b))), b...)
		}
		k, err := s.read(b[len(b):cap(b)], frameStart)
		b = b[:len(b)+k]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// read reads once into p under the right deadline: the idle timeout until
// the frame's first byte, then the frame's read timeout from that byte.
func (s *streamReader) read(p []byte, frameStart *time.Time) (int, error) {
	started := !frameStart.IsZero()
	if s.setDeadline != nil {
		d := time.Now().Add(s.idleTimeout)
		if started {
			d = frameStart.Add(s.readTO)
		}
		if !d.Equal(s.deadline) {
			if err := s.setDeadline(d); err != nil {
				return 0, err
			}
			s.deadline = d
		}
	}
	n, err := s.r.Read(p)
	if n > 0 && !started {
		*frameStart = time.Now()
	}
	if err != nil {
		err = readError(err, started || n > 0)
	}
	return n, err
}

// readError maps a read error to the reader's errors: an orderly close
// outside a frame is io.EOF, inside one io.ErrUnexpectedEOF; a deadline is
// errIdle or errSlow.
func readError(err error, inFrame bool) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && inFrame:
		return errSlow
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errIdle
	case errors.Is(err, io.EOF) && inFrame:
		return io.ErrUnexpectedEOF
	}
	return err
}
