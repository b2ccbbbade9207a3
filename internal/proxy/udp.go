package proxy

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/mcdedup/mcdedup/internal/udpio"
)

// ingress is one UDP ingress socket and the lock its readers take turns
// with: udpio reads one goroutine at a time, and while one reader waits for
// its claim round trip another reads and processes the next batch.
type ingress struct {
	c  udpio.BatchConn
	mu sync.Mutex // held for the duration of one ReadBatch
}

// readUDP is one UDP worker's receive loop: read a batch (taking turns on
// the socket with the socket's other readers), then process it — claim,
// stamp, send — with no goroutine in between, passing through the Go
// scheduler every udpio.YieldGap (udpio.Yielder). It has one exit: the socket
// closed. Other read errors are logged on state change and retried after a
// short pause.
func (p *Proxy) readUDP(w *worker) {
	msgs := newMessages(p.opts.Batch, p.opts.MaxDatagram)
	failing := false
	var y udpio.Yielder
	for {
		w.in.mu.Lock()
		n, err := w.in.c.ReadBatch(msgs)
		w.in.mu.Unlock()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !failing {
				p.log.Warn("ingress read failing", "err", err)
				failing = true
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if failing {
			p.log.Info("ingress reading again")
			failing = false
		}
		y.Tick(w.process(msgs[:n]))
	}
}

// newMessages returns n receive messages of size bytes each, carved from one
// allocation at a stride that is not a multiple of 4 KiB: buffers 64 KiB
// apart would all start in the same cache set, and the headers the worker
// reads and stamps would evict each other. Consecutive buffers here start
// one cache line further into the set index.
func newMessages(n, size int) []udpio.Message {
	stride := (size + 63) &^ 63
	if stride%4096 == 0 {
		stride += 64
	}
	buf := make([]byte, n*stride)
	msgs := make([]udpio.Message, n)
	for i := range msgs {
		msgs[i].Buf = buf[i*stride : i*stride+size : i*stride+size]
	}
	return msgs
}
