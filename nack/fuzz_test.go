package nack

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

// checkRoundTrip is the shared fuzz property: parsing never yields an
// unlabelled error, and re-encoding a parsed message reproduces the first
// size bytes of the input as an encoder writes them (ProtoVer normalised,
// since it is not decoded, and the zero ranges cleared).
func checkRoundTrip[T any](t *testing.T, b []byte, parse func([]byte) (T, error), enc func(*T) []byte,
	valid func(*T) bool, size int, zero ...[2]int) {
	m, err := parse(b)
	if err != nil {
		if Reason(err) == "other" {
			t.Fatalf("unlabelled error %v", err)
		}
		return
	}
	if !valid(&m) {
		t.Fatalf("accepted invalid message %+v", m)
	}
	want := bytes.Clone(b[:size])
	binary.BigEndian.PutUint16(want[4:], frame.ProtoVer)
	for _, r := range zero {
		clear(want[r[0]:r[1]])
	}
	if got := enc(&m); !bytes.Equal(got, want) {
		t.Fatalf("round trip\n got %x\nwant %x", got, want)
	}
}

func FuzzParseNACK(f *testing.F) {
	f.Add(goldenNACK)
	f.Add(append(bytes.Clone(goldenNACK), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRoundTrip(t, b, ParseNACK, func(n *NACK) []byte { return n.Append(nil) },
			func(n *NACK) bool { return n.Count() >= 1 && n.Count() <= MaxRangeNACK }, NACKLen)
	})
}

func FuzzParseReply(f *testing.F) {
	for _, g := range goldenReplies {
		f.Add(g.wire)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRoundTrip(t, b, ParseReply, func(r *Reply) []byte { return r.Append(nil) },
			func(r *Reply) bool { return r.Type >= frame.TypeMISS && r.Type <= frame.TypeThrottled }, ReplyLen)
	})
}

func FuzzParseAdvert(f *testing.F) {
	f.Add(goldenAdvert)
	a := Advert{NACKAddr: wantAdvert.NACKAddr.Unmap()}
	f.Add(a.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRoundTrip(t, b, ParseAdvert, func(a *Advert) []byte { return a.Append(nil) },
			func(*Advert) bool { return true }, AdvertLen, [2]int{40, AdvertLen})
	})
}
