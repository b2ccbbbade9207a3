package udpio

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// WriteError reports the messages of a WriteBatch call that were not sent.
// Every other message of the batch was sent, so a caller counts exactly
// Failed losses (and no more) against its metrics.
type WriteError struct {
	Failed int   // messages not sent
	Index  int   // index in the batch of the first message not sent
	Err    error // why the message at Index was not sent; see WriteBatch
}

// Error implements error.
func (e *WriteError) Error() string {
	return fmt.Sprintf("udpio: write batch: %d message(s) not sent, first at index %d: %v", e.Failed, e.Index, e.Err)
}

// Unwrap returns the underlying error, so errors.Is(err, net.ErrClosed) works.
func (e *WriteError) Unwrap() error { return e.Err }

// sendFunc is the primitive under WriteBatch, with sendmmsg semantics: it
// sends a non-empty prefix of msgs and returns its length, or returns an
// error for msgs[0] having sent nothing.
type sendFunc func(msgs []Message) (int, error)

// fatalWriteError reports errors after which no message of the batch can be
// sent: the socket is closed or its write deadline passed.
func fatalWriteError(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded)
}

// writeAll sends every message of msgs through send. A partial write is not
// a loss: the unsent tail goes out in the next call. A message the primitive
// rejects is skipped and counted, and the rest still go out. A fatal error
// stops the batch; all unsent messages then count as failed and the fatal
// error is the one reported, since it is the one callers branch on.
func writeAll(msgs []Message, send sendFunc) (int, error) {
	var (
		sent, failed int
		werr         *WriteError
	)
	for i := 0; i < len(msgs); {
		n, err := send(msgs[i:])
		if err == nil && n <= 0 {
			err = errShortWrite // a primitive that makes no progress must not spin
		}
		if err != nil {
			if werr == nil {
				werr = &WriteError{Index: i, Err: err}
			}
			if fatalWriteError(err) {
				werr.Err = err
				failed += len(msgs) - i
				break
			}
			failed++
			i++
			continue
		}
		n = min(n, len(msgs)-i)
		sent += n
		i += n
	}
	if werr == nil {
		return sent, nil
	}
	werr.Failed = failed
	return sent, werr
}

// errShortWrite is reported for a message the kernel neither sent nor
// rejected, which sendmmsg should never do.
var errShortWrite = errors.New("send made no progress")
