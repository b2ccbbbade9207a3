package sink

import (
	"bufio"
	"errors"
	"net"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/frame"
)

// maxDatagram is the receive buffer of one datagram: the largest frame the
// tools send, plus one byte so that anything larger is flagged truncated.
const maxDatagram = wire.MaxFrame + 1

// tcpBuffer is the read buffer of a TCP connection; it holds a whole frame.
const tcpBuffer = 256 << 10

// acceptTCP accepts connections until the listener closes.
func (s *Sink) acceptTCP() {
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		s.connMu.Lock()
		full := len(s.conns) >= MaxConns
		if !full {
			s.conns[c] = struct{}{}
		}
		s.connMu.Unlock()
		if full {
			c.Close()
			continue
		}
		s.readers.Go(func() { s.readTCP(c) })
	}
}

// readTCP reads frames delimited by their own headers (PROTOCOL §3.4) until
// the connection ends. A stream that stops making sense (bad magic or
// version, oversized payload) counts one malformed frame and is closed, since
// a byte stream cannot resynchronise.
func (s *Sink) readTCP(c *net.TCPConn) {
	defer func() {
		s.connMu.Lock()
		delete(s.conns, c)
		s.connMu.Unlock()
		c.Close()
	}()
	br := bufio.NewReaderSize(c, tcpBuffer)
	lim := frame.Limits{MaxPayload: wire.MaxPayload}
	for {
		n, err := nextFrame(br, lim)
		if err != nil {
			if errors.Is(err, errMalformed) {
				s.mu.Lock()
				s.ctr.ObserveMalformed()
				s.mu.Unlock()
			}
			return
		}
		b, _ := br.Peek(n) // nextFrame made sure it is buffered
		now := time.Now().UnixNano()
		s.mu.Lock()
		s.ctr.Observe(b, now)
		unique := s.ctr.Unique()
		s.mu.Unlock()
		br.Discard(n)
		s.noteBatch(now, unique)
	}
}

var errMalformed = errors.New("malformed frame on stream")

// nextFrame buffers the next whole frame of the stream and returns its
// length, reading the header first to learn the payload length.
func nextFrame(br *bufio.Reader, lim frame.Limits) (int, error) {
	p, err := br.Peek(frame.PrefixLen)
	if err != nil {
		return 0, err
	}
	hl := frame.HeaderLen(p[6])
	if _, ok := frame.Peek(p); !ok || hl == 0 {
		return 0, errMalformed
	}
	h, err := br.Peek(hl)
	if err != nil {
		return 0, err
	}
	_, pl, err := lim.Size(h)
	if err != nil {
		return 0, errMalformed
	}
	if _, err := br.Peek(hl + pl); err != nil {
		return 0, err
	}
	return hl + pl, nil
}
