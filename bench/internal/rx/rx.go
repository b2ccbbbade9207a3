// Package rx is the datagram receive loop the bench tools share (relay,
// sink): batched reads into caller-owned messages, one exit when the socket
// closes, transient errors skipped with a back-off when they persist
// (STYLE 8).
package rx

import (
	"errors"
	"net"
	"time"

	"github.com/mcdedup/mcdedup/internal/udpio"
)

// Reader is the read side of a socket (*udpio.Conn, *udpio.Fake).
type Reader interface {
	ReadBatch(msgs []udpio.Message) (int, error)
}

// persistent is how many errors in a row count as persistent.
const persistent = 10

// Loop reads batches from c into msgs and hands each to fn until c is
// closed. After more than a few consecutive read errors it sleeps a
// millisecond before each retry, so a broken socket cannot spin a core.
func Loop(c Reader, msgs []udpio.Message, fn func(batch []udpio.Message)) {
	failures := 0
	var y udpio.Yielder
	start := time.Now()
	for {
		n, err := c.ReadBatch(msgs)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if failures++; failures > persistent {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		failures = 0
		fn(msgs[:n])
		y.Tick(int64(time.Since(start)))
	}
}
