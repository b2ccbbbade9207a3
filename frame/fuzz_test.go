package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// fuzzSeeds returns the golden vectors and a few fragments as seeds.
func fuzzSeeds() [][]byte {
	var out [][]byte
	for _, g := range goldens() {
		out = append(out, g.wire)
	}
	f := Frame{Ver: VerSubtree, Byte7: MsgSubtreeHashes, ID: seq32(1), Payload: bytes.Repeat([]byte{0xab}, 40)}
	frags, _ := Fragment(&f, 16)
	return append(out, frags...)
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Parse(b)
		if err != nil {
			if Reason(err) == "other" {
				t.Fatalf("unlabelled error %v", err)
			}
			return
		}
		if len(fr.Raw) != fr.HeaderLen+len(fr.Payload) || fr.HeaderLen != HeaderLen(fr.Ver) {
			t.Fatalf("lengths: raw %d header %d payload %d", len(fr.Raw), fr.HeaderLen, len(fr.Payload))
		}
		if &fr.Raw[0] != &b[0] || (len(fr.Payload) > 0 && &fr.Payload[0] != &b[fr.HeaderLen]) {
			t.Fatal("Raw/Payload do not alias the input")
		}
		want := fr.Raw
		if fr.Proto == 0 { // the one documented exception: ProtoVer 0 encodes as ProtoVer
			want = bytes.Clone(fr.Raw)
			binary.BigEndian.PutUint16(want[4:], ProtoVer)
		}
		if enc := Append(nil, &fr); !bytes.Equal(enc, want) {
			t.Fatalf("re-encoding differs\n got %x\nwant %x", enc, want)
		}
		if k, ok := Peek(b); !ok || k != fr.Ver {
			t.Fatalf("Peek = %#x, %v for version %#x", k, ok, fr.Ver)
		}
		if _, _, ok := GroupIndexFor(&fr, 12, 12); !ok {
			t.Fatalf("GroupIndexFor rejects a parsed %#x frame", fr.Ver)
		}
		if fr.Ver == VerBundle {
			n := 0
			it := BundleMembers(&fr)
			for it.Next() {
				n++
			}
			if it.Err() == nil && n != int(fr.TxCount) {
				t.Fatalf("%d members, TxCount %d", n, fr.TxCount)
			}
		}
	})
}

// appendRecord frames one datagram for FuzzAssembly's input: u16 length ‖ bytes.
func appendRecord(dst, b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(b))), b...)
}

// FuzzAssembly feeds an arbitrary sequence of datagrams to one Assembly: it
// must never panic, never hold more than its object limit, and a completed
// object must contain every accepted fragment at its fixed-size offset.
func FuzzAssembly(f *testing.F) {
	obj := Frame{Ver: VerTx, ID: seq32(2), Payload: []byte("the quick brown fox jumps over the lazy dog")}
	frags, _ := Fragment(&obj, 10)
	var inOrder, reversed []byte
	for i := range frags {
		inOrder = appendRecord(inOrder, frags[i])
		reversed = appendRecord(reversed, frags[len(frags)-1-i])
	}
	f.Add(inOrder)
	f.Add(reversed)
	f.Add(appendRecord(appendRecord(nil, frags[1]), frags[1]))
	const maxObject = 1 << 16
	f.Fuzz(func(t *testing.T, in []byte) {
		a := Assembly{Limits: Limits{MaxObject: maxObject}}
		accepted := map[uint16][]byte{}
		for len(in) >= 2 {
			n := min(int(binary.BigEndian.Uint16(in)), len(in)-2)
			dgram := in[2 : 2+n]
			in = in[2+n:]
			fr, err := a.Limits.Parse(dgram)
			if err != nil || fr.Ver != VerFrag {
				continue
			}
			if _, err := a.Add(&fr); err == nil {
				accepted[fr.FragIndex] = bytes.Clone(fr.Payload)
			} else if !errors.Is(err, ErrBadFragment) && !errors.Is(err, ErrFragDuplicate) {
				t.Fatalf("unexpected error %v", err)
			}
			if a.MemSize() > maxObject || a.Received() > a.Total() || a.Received() != len(accepted) {
				t.Fatalf("bounds: mem %d received %d total %d", a.MemSize(), a.Received(), a.Total())
			}
		}
		if !a.Complete() {
			return
		}
		p := a.Payload()
		total := a.Total()
		chunk := len(p)
		if total > 1 {
			chunk = len(accepted[0])
		}
		for i, d := range accepted {
			off := int(i) * chunk
			if off+len(d) > len(p) || !bytes.Equal(p[off:off+len(d)], d) {
				t.Fatalf("fragment %d not at offset %d", i, off)
			}
		}
	})
}

// FuzzFragmentRoundTrip fragments any payload with any chunk size, delivers
// the fragments in a seeded random order and checks the reassembly.
func FuzzFragmentRoundTrip(f *testing.F) {
	f.Add([]byte("hello, fragments"), uint16(3), uint64(1))
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 1000), uint16(1348), uint64(2))
	f.Add([]byte{0}, uint16(1), uint64(3))
	f.Fuzz(func(t *testing.T, payload []byte, size uint16, seed uint64) {
		payload = payload[:min(len(payload), 1024)] // keep executions fast; limits are unit-tested
		orig := Frame{Ver: VerBEEF, ID: seq32(3), SubtreeID: seq32(4), Payload: payload}
		frags, err := Fragment(&orig, int(size))
		if err != nil {
			if len(payload) == 0 || size == 0 || FragmentCount(len(payload), int(size)) > 0xFFFF {
				return
			}
			t.Fatalf("Fragment: %v", err)
		}
		parsed := make([]Frame, len(frags))
		r := rand.New(rand.NewPCG(seed, 0))
		for i, j := range r.Perm(len(frags)) {
			if parsed[i], err = Parse(frags[j]); err != nil {
				t.Fatalf("fragment %d: %v", j, err)
			}
		}
		got, err := Reassemble(parsed)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("Reassemble: %v", err)
		}
	})
}
