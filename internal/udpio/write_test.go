package udpio

import (
	"errors"
	"fmt"
	"net"
	"testing"
)

// scriptedSend is a sendFunc that replays one result per call and records
// the index (in the original batch) of the first message of each call.
type scriptedSend struct {
	results []sendResult
	batch   []Message
	calls   []int
}

type sendResult struct {
	n   int
	err error
}

func (s *scriptedSend) send(msgs []Message) (int, error) {
	s.calls = append(s.calls, len(s.batch)-len(msgs))
	if len(s.calls) > len(s.results) {
		return 0, fmt.Errorf("unexpected call %d", len(s.calls))
	}
	r := s.results[len(s.calls)-1]
	return r.n, r.err
}

func TestWriteAll(t *testing.T) {
	errReject := errors.New("rejected")
	closed := fmt.Errorf("raw-write: %w", net.ErrClosed)
	tests := []struct {
		name      string
		batch     int
		results   []sendResult
		wantSent  int
		wantCalls []int // first index of each call
		wantErr   *WriteError
	}{
		{"all at once", 8, []sendResult{{8, nil}}, 8, []int{0}, nil},
		{"partial writes retry the tail", 10,
			[]sendResult{{3, nil}, {3, nil}, {3, nil}, {1, nil}}, 10, []int{0, 3, 6, 9}, nil},
		{"rejected first message is skipped", 5,
			[]sendResult{{0, errReject}, {4, nil}}, 4, []int{0, 1},
			&WriteError{Failed: 1, Index: 0, Err: errReject}},
		{"rejection after a partial write", 6,
			[]sendResult{{2, nil}, {0, errReject}, {1, nil}, {0, errors.New("second")}, {1, nil}}, 4,
			[]int{0, 2, 3, 4, 5}, &WriteError{Failed: 2, Index: 2, Err: errReject}},
		{"last message rejected", 3,
			[]sendResult{{2, nil}, {0, errReject}}, 2, []int{0, 2},
			&WriteError{Failed: 1, Index: 2, Err: errReject}},
		{"closed mid-batch fails the rest", 10,
			[]sendResult{{4, nil}, {0, closed}}, 4, []int{0, 4},
			&WriteError{Failed: 6, Index: 4, Err: closed}},
		{"closed after a rejection reports closed", 10,
			[]sendResult{{0, errReject}, {0, closed}}, 0, []int{0, 1},
			&WriteError{Failed: 10, Index: 0, Err: closed}},
		{"no progress counts as failure, no spin", 3,
			[]sendResult{{0, nil}, {2, nil}}, 2, []int{0, 1},
			&WriteError{Failed: 1, Index: 0, Err: errShortWrite}},
		{"overcount is clamped", 2, []sendResult{{5, nil}}, 2, []int{0}, nil},
		{"empty batch makes no call", 0, nil, 0, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &scriptedSend{results: tc.results, batch: make([]Message, tc.batch)}
			sent, err := writeAll(s.batch, s.send)
			if sent != tc.wantSent {
				t.Errorf("sent = %d, want %d", sent, tc.wantSent)
			}
			if fmt.Sprint(s.calls) != fmt.Sprint(tc.wantCalls) {
				t.Errorf("calls started at %v, want %v", s.calls, tc.wantCalls)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
				return
			}
			var we *WriteError
			if !errors.As(err, &we) {
				t.Fatalf("err = %v, want *WriteError", err)
			}
			if we.Failed != tc.wantErr.Failed || we.Index != tc.wantErr.Index || we.Err != tc.wantErr.Err {
				t.Errorf("err = %+v, want %+v", *we, *tc.wantErr)
			}
			if sent+we.Failed != tc.batch {
				t.Errorf("sent %d + failed %d != batch %d", sent, we.Failed, tc.batch)
			}
			if errors.Is(tc.wantErr.Err, net.ErrClosed) != errors.Is(err, net.ErrClosed) {
				t.Errorf("errors.Is(err, net.ErrClosed) = %v", errors.Is(err, net.ErrClosed))
			}
		})
	}
}
