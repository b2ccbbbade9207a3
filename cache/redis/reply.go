package redis

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
)

// A minimal RESP2 reply reader for the fast path: status, error, integer
// and bulk replies, the only kinds SET and GET produce. It reads from a
// bufio.Reader the connection reuses and allocates only for what the caller
// owns afterwards (a GET value) and on error paths.

// DefaultMaxValueSize is the largest value a batch reads when
// Options.MaxValueSize is 0: 512 MiB, Redis's own proto-max-bulk-len.
const DefaultMaxValueSize = 512 << 20

// maxReplyLine bounds a reply's first line (the reader's buffer size): error
// texts and lengths are short, so a longer line is a protocol error.
const maxReplyLine = 16 << 10

// Reply reader errors. A protocol error leaves the connection at an unknown
// position in the stream, so its owner must close it.
var (
	// errProtocol reports a reply that is not valid RESP2 or not one of the
	// kinds the fast path expects (arrays, RESP3 types).
	errProtocol = errors.New("redis: protocol error")
	// ErrValueTooLarge is the Op.Err of a GET whose value is longer than
	// Options.MaxValueSize; the value is skipped, not read into memory.
	ErrValueTooLarge = errors.New("redis: value larger than the configured maximum")
	// errUnexpectedReply reports a well-formed reply of a kind the command
	// cannot return (for example a bulk string to SET). The stream stays
	// aligned: only the op fails.
	errUnexpectedReply = errors.New("redis: unexpected reply")
)

// replyKind is the type of a RESP2 reply.
type replyKind uint8

const (
	replyStatus replyKind = iota // +OK
	replyError                   // -ERR …
	replyInt                     // :n
	replyBulk                    // $n, followed by n bytes and CRLF
	replyNil                     // $-1: GET miss, SET NX on an existing key
)

// reply is the head of one reply.
type reply struct {
	kind replyKind
	// line is the text of a status or error reply: a view into the
	// reader's buffer, valid until the next read.
	line []byte
	// n is an integer reply's value or a bulk reply's length.
	n int64
}

// isOK reports a +OK status.
func (r reply) isOK() bool { return r.kind == replyStatus && string(r.line) == "OK" }

// respReader reads replies from a connection's buffered reader.
type respReader struct {
	br       *bufio.Reader
	maxValue int64 // the longest bulk value read into memory
}

// next reads the head of the next reply. A bulk reply's body must then be
// consumed with value or skip before the next call.
func (r *respReader) next() (reply, error) {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return reply{}, fmt.Errorf("%w: reply line longer than %d bytes", errProtocol, r.br.Size())
		}
		return reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return reply{}, fmt.Errorf("%w: malformed reply line %q", errProtocol, trimLine(line))
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return reply{kind: replyStatus, line: body}, nil
	case '-':
		return reply{kind: replyError, line: body}, nil
	case ':':
		n, ok := parseInt(body)
		if !ok {
			return reply{}, fmt.Errorf("%w: bad integer %q", errProtocol, trimLine(body))
		}
		return reply{kind: replyInt, n: n}, nil
	case '$':
		n, ok := parseInt(body)
		switch {
		case !ok || n < -1:
			return reply{}, fmt.Errorf("%w: bad bulk length %q", errProtocol, trimLine(body))
		case n == -1:
			return reply{kind: replyNil}, nil
		}
		return reply{kind: replyBulk, n: n}, nil
	}
	return reply{}, fmt.Errorf("%w: unexpected reply type %q", errProtocol, kind)
}

// value reads the body of a bulk reply of length n into a fresh slice the
// caller owns (non-nil, even when empty). A body longer than maxValue is
// skipped instead and reported as ErrValueTooLarge, with the stream still
// aligned.
func (r *respReader) value(n int64) ([]byte, error) {
	if n > r.maxValue {
		if err := r.skip(n); err != nil {
			return nil, err
		}
		return nil, ErrValueTooLarge
	}
	if n <= eagerValue {
		v := make([]byte, n)
		if _, err := io.ReadFull(r.br, v); err != nil {
			return nil, err
		}
		return v, r.crlf()
	}
	// A large body is read into a buffer that doubles as bytes arrive, so
	// a length announced by a broken or hostile server costs memory only
	// for what it actually sends (at most twice that).
	v := make([]byte, 0, eagerValue)
	for int64(len(v)) < n {
		if len(v) == cap(v) {
			v = slices.Grow(v, int(min(n-int64(len(v)), int64(cap(v)))))
		}
		k := int(min(n-int64(len(v)), int64(cap(v)-len(v))))
		m, err := io.ReadFull(r.br, v[len(v):len(v)+k])
		v = v[:len(v)+m]
		if err != nil {
			return nil, err
		}
	}
	return v, r.crlf()
}

// eagerValue is the largest bulk body allocated at its announced length
// before it arrives.
const eagerValue = 64 << 10

// skip discards the body of a bulk reply of length n without buffering it.
func (r *respReader) skip(n int64) error {
	for n > 0 {
		d, err := r.br.Discard(int(min(n, 1<<30)))
		n -= int64(d)
		if err != nil {
			return err
		}
	}
	return r.crlf()
}

// crlf consumes the CRLF that ends a bulk body.
func (r *respReader) crlf() error {
	b, err := r.br.Peek(2)
	if err != nil {
		return err
	}
	if b[0] != '\r' || b[1] != '\n' {
		return fmt.Errorf("%w: bulk not terminated by CRLF", errProtocol)
	}
	_, _ = r.br.Discard(2)
	return nil
}

// parseInt parses a decimal integer of at most 18 digits with an optional
// minus sign (larger lengths are absurd and rejected rather than
// overflowing).
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// trimLine shortens a reply line for an error message.
func trimLine(b []byte) []byte {
	const max = 64
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > max {
		b = b[:max]
	}
	return b
}

// ServerError is an error reply of the server to one command of a batch
// (for example "WRONGTYPE …", "OOM …", or "MOVED …" that could not be
// followed), set in that Op's Err.
type ServerError string

// Error implements error.
func (e ServerError) Error() string { return string(e) }

// redirect is a parsed MOVED or ASK error reply.
type redirect struct {
	ask  bool   // ASK: send ASKING first, and do not learn the slot
	addr []byte // host:port of the node to ask, a view into the reply
}

// parseRedirect parses "MOVED slot host:port" or "ASK slot host:port".
func parseRedirect(line []byte) (redirect, bool) {
	var rd redirect
	switch {
	case bytes.HasPrefix(line, []byte("MOVED ")):
		line = line[len("MOVED "):]
	case bytes.HasPrefix(line, []byte("ASK ")):
		line, rd.ask = line[len("ASK "):], true
	default:
		return rd, false
	}
	slot, addr, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(addr) == 0 {
		return rd, false
	}
	if n, err := strconv.Atoi(string(slot)); err != nil || n < 0 || n >= clusterSlots {
		return rd, false
	}
	rd.addr = bracketIPv6(addr)
	return rd, true
}

// bracketIPv6 returns host:port with an IPv6 host in brackets. Redis writes
// redirections without them ("MOVED 15495 ::1:17102", checked on 7.0),
// which net.Dial rejects and which would not match the node's address in
// the slot table ([::1]:17102). The port is after the last colon. It
// allocates only for such an address.
func bracketIPv6(addr []byte) []byte {
	if bytes.Count(addr, []byte{':'}) < 2 || bytes.HasPrefix(addr, []byte{'['}) {
		return addr
	}
	i := bytes.LastIndexByte(addr, ':')
	return []byte(net.JoinHostPort(string(addr[:i]), string(addr[i+1:])))
}
