package nack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/frame"
)

// hx decodes hex written in readable groups (spaces ignored).
func hx(parts ...string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(strings.Join(parts, " ")), ""))
	if err != nil {
		panic(err)
	}
	return b
}

const (
	pre  = "e3e1f3e8 02bf" // Magic, ProtoVer
	hexC = "c0c1c2c3c4c5c6c7 c8c9cacbcccdcecf d0d1d2d3d4d5d6d7 d8d9dadbdcdddedf"
)

func subtreeC() [32]byte {
	var a [32]byte
	for i := range a {
		a[i] = 0xc0 + byte(i)
	}
	return a
}

var (
	goldenNACK = hx(pre, "10 01", "0102030405060708", "0000000000000010", "0000000000000012", hexC)
	wantNACK   = NACK{Flags: FlagProxied, HashKey: 0x0102030405060708, StartSeq: 0x10, EndSeq: 0x12, SubtreeID: subtreeC()}
)

var goldenReplies = []struct {
	name string
	wire []byte
	want Reply
}{
	{"miss", hx(pre, "11 00", "0000000000000000"), Reply{Type: frame.TypeMISS}},
	{"ack multicast", hx(pre, "12 01", "0000000000000011"), Reply{Type: frame.TypeACK, Flags: AckMulticastSent, SeqNum: 0x11}},
	{"ack both", hx(pre, "12 03", "00000000000000ff"), Reply{Type: frame.TypeACK, Flags: AckMulticastSent | AckUnicastSent, SeqNum: 0xff}},
	{"throttled", hx(pre, "13 03", "0000000000000010"), Reply{Type: frame.TypeThrottled, Flags: 3, SeqNum: 0x10}},
}

func TestNACKGolden(t *testing.T) {
	got, err := ParseNACK(goldenNACK)
	if err != nil || got != wantNACK {
		t.Fatalf("ParseNACK = %+v, %v", got, err)
	}
	if enc := wantNACK.Append(nil); !bytes.Equal(enc, goldenNACK) {
		t.Errorf("Append\n got %x\nwant %x", enc, goldenNACK)
	}
	if !got.Proxied() || !got.IsRange() || got.Count() != 3 || got.Key() != frame.CacheKey(0x0102030405060708, 0x10) {
		t.Errorf("helpers: proxied %v range %v count %d", got.Proxied(), got.IsRange(), got.Count())
	}
	single := NACK{HashKey: 1, StartSeq: 7, EndSeq: 7}
	if single.IsRange() || single.Count() != 1 || single.Proxied() {
		t.Error("single NACK helpers")
	}
	if inverted := (NACK{StartSeq: 2, EndSeq: 1}); inverted.Count() != 0 {
		t.Error("inverted Count")
	}
}

func TestReplyGolden(t *testing.T) {
	for _, g := range goldenReplies {
		got, err := ParseReply(g.wire)
		if err != nil || got != g.want {
			t.Errorf("%s: ParseReply = %+v, %v", g.name, got, err)
		}
		if enc := g.want.Append(nil); !bytes.Equal(enc, g.wire) {
			t.Errorf("%s: Append\n got %x\nwant %x", g.name, enc, g.wire)
		}
	}
	th := Reply{Type: frame.TypeThrottled, Flags: 0xf3}
	if th.Bucket() != 3 || th.Hold() != time.Second {
		t.Errorf("bucket %d hold %v", th.Bucket(), th.Hold())
	}
}

func TestParseErrors(t *testing.T) {
	set := func(b []byte, off int, v byte) []byte { b = bytes.Clone(b); b[off] = v; return b }
	miss := goldenReplies[0].wire
	rangeOf := func(start, end string) []byte {
		return hx(pre, "10 00", "0000000000000001", start, end, hexC)
	}
	cases := []struct {
		name  string
		parse func([]byte) error
		b     []byte
		want  error
	}{
		{"nack empty", parseNACKErr, nil, ErrShort},
		{"nack 63", parseNACKErr, goldenNACK[:63], ErrShort},
		{"nack magic", parseNACKErr, set(goldenNACK, 2, 0), ErrBadMagic},
		{"nack type ACK", parseNACKErr, set(goldenNACK, 6, frame.TypeACK), ErrWrongType},
		{"nack type frame", parseNACKErr, set(goldenNACK, 6, frame.VerTx), ErrWrongType},
		{"nack inverted", parseNACKErr, rangeOf("0000000000000005", "0000000000000004"), ErrBadRange},
		{"nack too long", parseNACKErr, rangeOf("0000000000000001", "0000000000000041"), ErrRangeTooLong},
		{"nack huge", parseNACKErr, rangeOf("0000000000000000", "ffffffffffffffff"), ErrRangeTooLong},
		{"nack max range", parseNACKErr, rangeOf("0000000000000001", "0000000000000040"), nil},
		{"reply 15", parseReplyErr, miss[:15], ErrShort},
		{"reply magic", parseReplyErr, set(miss, 0, 0), ErrBadMagic},
		{"reply type NACK", parseReplyErr, set(miss, 6, frame.TypeNACK), ErrWrongType},
		{"reply type 0x14", parseReplyErr, set(miss, 6, 0x14), ErrWrongType},
		{"reply type ADVERT", parseReplyErr, set(miss, 6, frame.TypeAdvert), ErrWrongType},
		{"advert 55", parseAdvertErr, goldenAdvert[:55], ErrShort},
		{"advert magic", parseAdvertErr, set(goldenAdvert, 1, 0), ErrBadMagic},
		{"advert type", parseAdvertErr, set(goldenAdvert, 6, frame.TypeManifest), ErrWrongType},
	}
	labels := map[error]string{nil: "", ErrShort: "short", ErrBadMagic: "bad_magic", ErrWrongType: "wrong_type",
		ErrBadRange: "bad_range", ErrRangeTooLong: "range_too_long"}
	for _, c := range cases {
		err := c.parse(c.b)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if Reason(err) != labels[c.want] {
			t.Errorf("%s: Reason = %q", c.name, Reason(err))
		}
	}
	if Reason(errors.New("x")) != "other" {
		t.Error("Reason(other)")
	}
}

func parseNACKErr(b []byte) error   { _, err := ParseNACK(b); return err }
func parseReplyErr(b []byte) error  { _, err := ParseReply(b); return err }
func parseAdvertErr(b []byte) error { _, err := ParseAdvert(b); return err }

// Reserved bits, ProtoVer and trailing bytes from peers are tolerated.
func TestLenient(t *testing.T) {
	n := bytes.Clone(goldenNACK)
	n[4], n[5], n[7] = 0x03, 0x00, 0xff
	n = append(n, 0xee, 0xee)
	got, err := ParseNACK(n)
	if err != nil || got.Flags != 0xff || !got.Proxied() || got.HashKey != wantNACK.HashKey {
		t.Errorf("lenient NACK: %+v, %v", got, err)
	}
	m := hx(pre, "11 80", "0000000000000009", "ffff")
	r, err := ParseReply(m)
	if err != nil || r != (Reply{Type: frame.TypeMISS, Flags: 0x80, SeqNum: 9}) {
		t.Errorf("lenient MISS: %+v, %v", r, err)
	}
}
