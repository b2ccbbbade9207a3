package proxy

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/mcdedup/mcdedup/internal/udpio"
)

// tcpBatch is the most frames of one TCP connection processed together:
// what one read brought in, up to this many, shares one claim round trip.
const tcpBatch = 64

// acceptTCP accepts TCP ingress connections until the listener closes,
// closing at once (and counting) those above TCPMaxConns.
func (p *Proxy) acceptTCP() {
	var delay time.Duration
	for {
		conn, err := p.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second) // e.g. EMFILE: back off
			p.log.Warn("tcp accept failing", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if p.tcpOpen.Load() >= int64(p.opts.TCPMaxConns) {
			p.m.tcpRejected.Inc() // counted before the client can see the close
			conn.Close()
			continue
		}
		p.mu.Lock()
		if p.state.Load() == stateClosed {
			p.mu.Unlock()
			conn.Close()
			return
		}
		p.conns[conn] = struct{}{}
		p.tcpOpen.Add(1)
		p.wg.Add(1)
		p.mu.Unlock()
		p.m.tcpConns.Inc()
		go func() {
			defer p.wg.Done()
			p.serveTCP(conn)
			p.mu.Lock()
			delete(p.conns, conn)
			p.mu.Unlock()
			p.tcpOpen.Add(-1)
			p.m.tcpConns.Dec()
		}()
	}
}

// serveTCP reads frames from one connection and processes them in batches
// through a worker of its own (own egress, own claim handle): every frame a
// read brought in, up to tcpBatch, goes through one process call. A
// malformed stream is counted as a drop under its reason and closes the
// connection, as do timeouts and errors.
func (p *Proxy) serveTCP(conn net.Conn) {
	defer conn.Close()
	e, err := p.newEgress()
	if err != nil {
		p.log.Warn("tcp connection: egress", "err", err, "peer", conn.RemoteAddr().String())
		return
	}
	w := p.newWorker(e, tcpBatch)
	defer e.Close()
	sr := newStreamReader(conn, p.core.cls.limits, conn.SetReadDeadline, p.opts.TCPIdleTimeout, p.opts.TCPReadTimeout)
	err = serveStream(sr, w)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		p.log.Debug("tcp connection closed", "peer", conn.RemoteAddr().String(), "err", err)
	}
}

// serveStream feeds the frames of sr to w in batches until the stream ends,
// and returns why it ended (io.EOF for an orderly close at a frame
// boundary). A malformed header is counted through w as one dropped input.
func serveStream(sr *streamReader, w *worker) error {
	msgs := make([]udpio.Message, tcpBatch)
	n := 0
	for {
		b, err := sr.next(n == 0)
		if errors.Is(err, errNeedRead) {
			w.process(msgs[:n])
			n = 0
			continue
		}
		if err != nil {
			if n > 0 {
				w.process(msgs[:n])
			}
			var se *streamError
			if errors.As(err, &se) {
				w.dropInput(se.reason)
			} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errSlow) {
				w.dropInput(reasonTruncated) // a frame cut short
			}
			return err
		}
		msgs[n] = udpio.Message{Buf: b, N: len(b)}
		n++
		if n == len(msgs) || len(b) > tcpBufSize {
			w.process(msgs[:n])
			clear(msgs[:n]) // release a big frame's buffer
			n = 0
		}
	}
}

// dropInput counts one input frame that was dropped before it could be
// parsed (a malformed or cut TCP stream).
func (w *worker) dropInput(r dropReason) {
	w.t.reset()
	w.t.received++
	w.t.drop(r)
	w.c.m.flush(&w.t, 0)
}
