package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
)

// wireOf returns a copy of the named golden vector.
func wireOf(t testing.TB, name string) []byte {
	t.Helper()
	for _, g := range goldens() {
		if g.name == name {
			return append([]byte(nil), g.wire...)
		}
	}
	t.Fatalf("no golden %q", name)
	return nil
}

func TestParseErrors(t *testing.T) {
	put32 := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	}
	put16 := func(off int, v uint16) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint16(b[off:], v); return b }
	}
	setByte := func(off int, v byte) func([]byte) []byte {
		return func(b []byte) []byte { b[off] = v; return b }
	}
	cut := func(n int) func([]byte) []byte { return func(b []byte) []byte { return b[:n] } }
	cases := []struct {
		name   string
		base   string
		mut    func([]byte) []byte
		limits Limits
		want   error
		reason string
	}{
		{"empty", "v2", cut(0), Limits{}, ErrTooShort, "short"},
		{"prefix only 6", "v2", cut(6), Limits{}, ErrTooShort, "short"},
		{"v1 header 43", "v1", cut(43), Limits{}, ErrTooShort, "short"},
		{"v2 header 91", "v2", cut(91), Limits{}, ErrTooShort, "short"},
		{"v3 header 103", "v3", cut(103), Limits{}, ErrTooShort, "short"},
		{"v8 header 65", "v8", cut(65), Limits{}, ErrTooShort, "short"},
		{"bad magic", "v2", setByte(0, 0xe4), Limits{}, ErrBadMagic, "bad_magic"},
		{"bad magic short", "v2", func(b []byte) []byte { b[3] = 0; return b[:7] }, Limits{}, ErrBadMagic, "bad_magic"},
		{"version 0", "v2", setByte(6, 0x00), Limits{}, ErrBadVersion, "bad_version"},
		{"version 0x0a", "v2", setByte(6, 0x0a), Limits{}, ErrBadVersion, "bad_version"},
		{"control NACK", "v2", setByte(6, TypeNACK), Limits{}, ErrBadVersion, "bad_version"},
		{"control ADVERT", "v2", setByte(6, TypeAdvert), Limits{}, ErrBadVersion, "bad_version"},
		{"version 0xff", "v2", setByte(6, 0xff), Limits{}, ErrBadVersion, "bad_version"},
		{"v1 truncated", "v1", put32(40, 4), Limits{}, ErrTruncated, "truncated"},
		{"v2 truncated", "v2", put32(88, 5), Limits{}, ErrTruncated, "truncated"},
		{"v2 payload missing", "v2", cut(92), Limits{}, ErrTruncated, "truncated"},
		{"v8 truncated", "v8", put32(62, 0x49), Limits{}, ErrTruncated, "truncated"},
		{"v2 too large default", "v2", put32(88, DefaultMaxPayload+1), Limits{}, ErrPayloadTooLarge, "too_large"},
		{"v2 too large limit", "v2", nil, Limits{MaxPayload: 3}, ErrPayloadTooLarge, "too_large"},
		{"v1 too large", "v1", put32(40, 0xffffffff), Limits{}, ErrPayloadTooLarge, "too_large"},
		{"v8 too large", "v8", put32(62, 0xffffffff), Limits{}, ErrPayloadTooLarge, "too_large"},
		{"v4 msg 0", "v4-announce", setByte(7, 0), Limits{}, ErrBadBlockMsg, "bad_block_msg"},
		{"v4 msg 3", "v4-announce", setByte(7, 3), Limits{}, ErrBadBlockMsg, "bad_block_msg"},
		{"v5 msg 0", "v5", setByte(7, 0), Limits{}, ErrBadSubtreeMsg, "bad_subtree_msg"},
		{"v5 msg 0x81", "v5", setByte(7, 0x81), Limits{}, ErrBadSubtreeMsg, "bad_subtree_msg"},
		{"v7 payload 79", "v7", func(b []byte) []byte { binary.BigEndian.PutUint32(b[88:], 79); return b[:92+79] }, Limits{}, ErrBadHeaderLen, "bad_header_len"},
		{"v7 payload 81", "v7", func(b []byte) []byte { binary.BigEndian.PutUint32(b[88:], 81); return append(b, 0) }, Limits{}, ErrBadHeaderLen, "bad_header_len"},
		{"frag total 0", "v3", put16(98, 0), Limits{}, ErrFragTotalZero, "frag_total_zero"},
		{"frag index = total", "v3", put16(96, 3), Limits{}, ErrFragIndex, "frag_index"},
		{"frag index > total", "v3", put16(96, 0xffff), Limits{}, ErrFragIndex, "frag_index"},
		{"frag orig 0", "v3", put32(92, 0), Limits{}, ErrFragOrigLenZero, "frag_orig_len_zero"},
		{"frag object too large default", "v3", put32(92, DefaultMaxObject+1), Limits{}, ErrFragObjectTooLarge, "frag_object_too_large"},
		{"frag object too large limit", "v3", nil, Limits{MaxObject: 4}, ErrFragObjectTooLarge, "frag_object_too_large"},
		{"frag total > orig+1", "v3", put16(98, 7), Limits{}, ErrFragTotalTooLarge, "frag_total_too_large"},
		{"frag len > orig", "v3", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[92:], 1)
			binary.BigEndian.PutUint16(b[98:], 2)
			return b
		}, Limits{}, ErrFragLen, "frag_len"},
		{"frag orig ver 1", "v3", setByte(100, 0x01), Limits{}, ErrFragOrigVer, "frag_orig_ver"},
		{"frag orig ver 3", "v3", setByte(100, 0x03), Limits{}, ErrFragOrigVer, "frag_orig_ver"},
		{"frag orig ver 6", "v3", setByte(100, 0x06), Limits{}, ErrFragOrigVer, "frag_orig_ver"},
		{"frag orig ver 8", "v3", setByte(100, 0x08), Limits{}, ErrFragOrigVer, "frag_orig_ver"},
		{"frag of block bad msg", "v3-block-coinbase", setByte(7, 0), Limits{}, ErrBadBlockMsg, "bad_block_msg"},
		{"frag of subtree bad msg", "v3-block-coinbase", func(b []byte) []byte { b[100] = VerSubtree; b[7] = 3; return b }, Limits{}, ErrBadSubtreeMsg, "bad_subtree_msg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := wireOf(t, c.base)
			if c.mut != nil {
				b = c.mut(b)
			}
			f, err := c.limits.Parse(b)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if got := Reason(err); got != c.reason {
				t.Errorf("Reason = %q, want %q", got, c.reason)
			}
			if f.Ver != 0 || f.Raw != nil || f.Payload != nil {
				t.Errorf("frame not zero on error: %+v", f)
			}
		})
	}
}

func TestErrorWrapping(t *testing.T) {
	if !errors.Is(ErrTruncated, io.ErrUnexpectedEOF) {
		t.Error("ErrTruncated does not match io.ErrUnexpectedEOF")
	}
	for _, e := range []error{ErrFragTotalZero, ErrFragIndex, ErrFragOrigLenZero, ErrFragObjectTooLarge,
		ErrFragTotalTooLarge, ErrFragLen, ErrFragOrigVer, ErrFragMismatch, ErrFragSize} {
		if !errors.Is(e, ErrBadFragment) {
			t.Errorf("%v does not wrap ErrBadFragment", e)
		}
	}
	if errors.Is(ErrFragDuplicate, ErrBadFragment) {
		t.Error("a duplicate is not a bad fragment")
	}
}

func TestReason(t *testing.T) {
	if got := Reason(nil); got != "" {
		t.Errorf("Reason(nil) = %q", got)
	}
	if got := Reason(errors.New("x")); got != "other" {
		t.Errorf("Reason(other) = %q", got)
	}
	if got := Reason(fmt.Errorf("listener: %w", ErrTruncated)); got != "truncated" {
		t.Errorf("Reason(wrapped) = %q", got)
	}
	if got := Reason(io.ErrUnexpectedEOF); got != "other" {
		t.Errorf("Reason(io.ErrUnexpectedEOF) = %q", got)
	}
	seen := map[string]bool{}
	for _, r := range Reasons() {
		if seen[r] || r == "" || r == "other" {
			t.Errorf("bad or duplicate label %q", r)
		}
		seen[r] = true
	}
	for _, r := range reasons {
		if got := Reason(r.err); got != r.label {
			t.Errorf("Reason(%v) = %q, want %q (shadowed by an earlier entry?)", r.err, got, r.label)
		}
	}
}

func TestParseTrailingBytes(t *testing.T) {
	b := append(wireOf(t, "v2"), 0x77, 0x88)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Raw) != len(b)-2 || string(f.Payload) != "\xde\xad\xbe\xef" {
		t.Errorf("Raw %d bytes, Payload %x", len(f.Raw), f.Payload)
	}
}

func TestParseViewsAliasAndAreClipped(t *testing.T) {
	b := append(wireOf(t, "v2"), 0x77)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if &f.Raw[0] != &b[0] || &f.Payload[0] != &b[HeaderLenStd] {
		t.Error("Payload/Raw do not alias the input")
	}
	if cap(f.Payload) != len(f.Payload) || cap(f.Raw) != len(f.Raw) {
		t.Error("views not clipped to their length")
	}
	_ = append(f.Payload, 0x99)
	if b[len(b)-1] != 0x77 {
		t.Error("appending to Payload overwrote the datagram")
	}
}

func TestSize(t *testing.T) {
	b := wireOf(t, "v2")[:HeaderLenStd]
	binary.BigEndian.PutUint32(b[88:], 1000)
	hl, pl, err := Limits{}.Size(b)
	if hl != HeaderLenStd || pl != 1000 || err != nil {
		t.Errorf("Size = %d, %d, %v", hl, pl, err)
	}
	if _, _, err := (Limits{MaxPayload: 999}).Size(b); !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("Size over limit: %v", err)
	}
}

func TestPeek(t *testing.T) {
	cases := []struct {
		b    []byte
		kind uint8
		ok   bool
	}{
		{hx(pre, "02"), VerTx, true},
		{hx(pre, "10 00"), TypeNACK, true},
		{hx(pre, "20"), TypeAdvert, true},
		{hx(pre), 0, false},
		{hx("e3e1f3e9 02bf 02"), 0, false},
		{nil, 0, false},
	}
	for _, c := range cases {
		kind, ok := Peek(c.b)
		if kind != c.kind || ok != c.ok {
			t.Errorf("Peek(%x) = %#x, %v; want %#x, %v", c.b, kind, ok, c.kind, c.ok)
		}
	}
	for k := range 256 {
		want := k >= 1 && k <= 9
		if IsFrameVer(uint8(k)) != want || (HeaderLen(uint8(k)) != 0) != want {
			t.Errorf("kind %#x: IsFrameVer/HeaderLen disagree", k)
		}
	}
}

func TestStamp(t *testing.T) {
	for _, name := range []string{"v2", "v3", "v4-announce", "v5", "v6", "v7", "v8", "v9"} {
		b := wireOf(t, name)
		Stamp(b, 0xfedcba9876543210, 42)
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.HashKey != 0xfedcba9876543210 || f.SeqNum != 42 {
			t.Errorf("%s: stamped %#x/%d", name, f.HashKey, f.SeqNum)
		}
		if !f.IsStamped() || f.Key() != CacheKey(0xfedcba9876543210, 42) {
			t.Errorf("%s: IsStamped/Key", name)
		}
	}
	if got, want := CacheKey(0x0102030405060708, 0x1112131415161718), [16]byte(hx("0102030405060708 1112131415161718")); got != want {
		t.Errorf("CacheKey = %x", got)
	}
}

// ProtoVer is informational and not validated, but a relay must re-encode a
// peer's value (found by FuzzParse).
func TestParseKeepsProtoVer(t *testing.T) {
	b := wireOf(t, "v2")
	binary.BigEndian.PutUint16(b[4:], 0x0300)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Proto != 0x0300 || string(Append(nil, &f)) != string(b) {
		t.Errorf("Proto %#x, re-encoded %x", f.Proto, Append(nil, &f))
	}
}
