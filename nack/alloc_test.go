package nack

import (
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

var (
	sinkBytes  []byte
	sinkNACK   NACK
	sinkReply  Reply
	sinkAdvert Advert
	sinkErr    error
)

func TestZeroAllocs(t *testing.T) {
	buf := make([]byte, 0, 128)
	reply := Reply{Type: frame.TypeACK, Flags: AckMulticastSent, SeqNum: 9}
	cases := []struct {
		name string
		fn   func()
	}{
		{"NACK.Append", func() { sinkBytes = wantNACK.Append(buf[:0]) }},
		{"ParseNACK", func() { sinkNACK, sinkErr = ParseNACK(goldenNACK) }},
		{"ParseNACK error", func() { sinkNACK, sinkErr = ParseNACK(goldenNACK[:10]) }},
		{"Reply.Append", func() { sinkBytes = reply.Append(buf[:0]) }},
		{"ParseReply", func() { sinkReply, sinkErr = ParseReply(goldenReplies[1].wire) }},
		{"Advert.Append", func() { sinkBytes = wantAdvert.Append(buf[:0]) }},
		{"ParseAdvert", func() { sinkAdvert, sinkErr = ParseAdvert(goldenAdvert) }},
		{"Reason", func() { _ = Reason(ErrRangeTooLong) }},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", c.name, n)
		}
	}
}
