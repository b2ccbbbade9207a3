package frame

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestFragDataSize(t *testing.T) {
	for _, c := range []struct{ mtu, want int }{
		{1500, 1348}, {9000, 8848}, {1448, 1296}, {1280, 1128}, {1279, 0}, {0, 0}, {70000, MaxFragDataSize},
	} {
		if got := FragDataSize(c.mtu); got != c.want {
			t.Errorf("FragDataSize(%d) = %d, want %d", c.mtu, got, c.want)
		}
	}
	for _, c := range []struct{ n, size, want int }{
		{0, 10, 0}, {1, 10, 1}, {10, 10, 1}, {11, 10, 2}, {20, 10, 2}, {21, 10, 3}, {5, 0, 0}, {-1, 4, 0},
	} {
		if got := FragmentCount(c.n, c.size); got != c.want {
			t.Errorf("FragmentCount(%d, %d) = %d, want %d", c.n, c.size, got, c.want)
		}
	}
}

// A V4 announce of 5 payload bytes cut into 2-byte chunks, byte by byte.
func TestFragmentGolden(t *testing.T) {
	f := Frame{Ver: VerBlock, Byte7: MsgBlockAnnounce, ID: seq32(0xa0), HashKey: 0x1111111111111111, SeqNum: 3,
		Payload: hx("0102030405")}
	frags, err := Fragment(&f, 2)
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(pl, idx, data string) []byte {
		return hx(pre, "03 01", hexA, "1111111111111111", "0000000000000003", hexZ, pl,
			"00000005", idx, "0003", "04", "000000", data)
	}
	want := [][]byte{
		hdr("00000002", "0000", "0102"),
		hdr("00000002", "0001", "0304"),
		hdr("00000001", "0002", "05"),
	}
	if len(frags) != len(want) {
		t.Fatalf("%d fragments", len(frags))
	}
	for i := range want {
		if !bytes.Equal(frags[i], want[i]) {
			t.Errorf("fragment %d\n got %x\nwant %x", i, frags[i], want[i])
		}
		if _, err := Parse(frags[i]); err != nil {
			t.Errorf("fragment %d does not parse: %v", i, err)
		}
	}
}

func TestFragmentErrors(t *testing.T) {
	big := make([]byte, 0x10000)
	cases := []struct {
		name string
		f    Frame
		size int
		i    int
		want error
	}{
		{"v1", Frame{Ver: VerLegacy, Payload: []byte{1}}, 10, 0, ErrNotFragmentable},
		{"v3", Frame{Ver: VerFrag, Payload: []byte{1}}, 10, 0, ErrNotFragmentable},
		{"v6", Frame{Ver: VerAnchor, Payload: []byte{1}}, 10, 0, ErrNotFragmentable},
		{"v7", Frame{Ver: VerHeader, Payload: []byte{1}}, 10, 0, ErrNotFragmentable},
		{"v8", Frame{Ver: VerBundle, Payload: []byte{1}}, 10, 0, ErrNotFragmentable},
		{"empty", Frame{Ver: VerTx}, 10, 0, ErrFragArgs},
		{"size 0", Frame{Ver: VerTx, Payload: []byte{1}}, 0, 0, ErrFragArgs},
		{"too many", Frame{Ver: VerTx, Payload: big}, 1, 0, ErrFragArgs},
		{"index high", Frame{Ver: VerTx, Payload: []byte{1, 2}}, 1, 2, ErrFragArgs},
		{"index negative", Frame{Ver: VerTx, Payload: []byte{1, 2}}, 1, -1, ErrFragArgs},
	}
	for _, c := range cases {
		dst := []byte("keep")
		got, err := AppendFragment(dst, &c.f, c.size, c.i)
		if !errors.Is(err, c.want) || string(got) != "keep" {
			t.Errorf("%s: AppendFragment = %q, %v; want %v", c.name, got, err, c.want)
		}
		if c.i == 0 {
			if _, err := Fragment(&c.f, c.size); !errors.Is(err, c.want) {
				t.Errorf("%s: Fragment: %v, want %v", c.name, err, c.want)
			}
		}
	}
}

// parseAll parses fragments, failing the test on error.
func parseAll(t testing.TB, frags [][]byte) []Frame {
	t.Helper()
	out := make([]Frame, len(frags))
	for i, b := range frags {
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		out[i] = f
	}
	return out
}

// Property: any payload, chunk size and arrival order (with duplicates)
// reassembles to the original.
func TestFragmentReassembleProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vers := []struct{ ver, msg uint8 }{{VerTx, 0}, {VerBlock, MsgBlockAnnounce}, {VerSubtree, MsgSubtreeFull}, {VerBEEF, 0}}
	for iter := range 500 {
		v := vers[iter%len(vers)]
		payload := make([]byte, 1+r.IntN(20000))
		for i := range payload {
			payload[i] = byte(r.Uint32())
		}
		size := 1 + r.IntN(3000)
		if iter%7 == 0 {
			size = 1 + r.IntN(16)
		}
		orig := Frame{Ver: v.ver, Byte7: v.msg, ID: seq32(byte(iter)), SubtreeID: seq32(0xc0), HashKey: r.Uint64(), Payload: payload}
		raw, err := Fragment(&orig, size)
		if err != nil {
			t.Fatal(err)
		}
		frags := parseAll(t, raw)
		if len(frags) != FragmentCount(len(payload), size) {
			t.Fatalf("%d fragments for %d/%d", len(frags), len(payload), size)
		}
		order := r.Perm(len(frags))
		for range r.IntN(4) { // duplicates anywhere
			order = append(order, r.IntN(len(frags)))
		}
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var a Assembly
		for k, idx := range order {
			done, err := a.Add(&frags[idx])
			if err != nil && !errors.Is(err, ErrFragDuplicate) {
				t.Fatalf("iter %d: Add(%d of %d, size %d, payload %d): %v", iter, idx, len(frags), size, len(payload), err)
			}
			if done != (a.Received() == len(frags)) || (k < len(order)-1 && done && a.Missing() != 0) {
				t.Fatalf("iter %d: complete flag inconsistent", iter)
			}
		}
		if !bytes.Equal(a.Payload(), payload) {
			t.Fatalf("iter %d: payload differs", iter)
		}
		got, ok := a.Frame()
		if !ok || got.Ver != v.ver || got.Byte7 != v.msg || got.ID != orig.ID || got.SubtreeID != orig.SubtreeID ||
			got.HashKey != orig.HashKey || got.HeaderLen != HeaderLenStd {
			t.Fatalf("iter %d: Frame() = %+v", iter, got)
		}
		if a.MemSize() > len(payload) {
			t.Fatalf("iter %d: holds %d bytes for a %d-byte object", iter, a.MemSize(), len(payload))
		}
		b, err := Reassemble(frags)
		if err != nil || !bytes.Equal(b, payload) {
			t.Fatalf("iter %d: Reassemble: %v", iter, err)
		}
	}
}

func TestAssemblyLastFragmentFirst(t *testing.T) {
	payload := []byte("0123456789") // chunks 4,4,2
	orig := Frame{Ver: VerTx, ID: seq32(1), Payload: payload}
	raw, _ := Fragment(&orig, 4)
	frags := parseAll(t, raw)
	var a Assembly
	for _, i := range []int{2, 0, 1} {
		if _, err := a.Add(&frags[i]); err != nil {
			t.Fatalf("Add(%d): %v", i, err)
		}
		if i == 2 && !a.Has(2) {
			t.Fatal("last fragment not recorded")
		}
	}
	if string(a.Payload()) != string(payload) {
		t.Errorf("payload %q", a.Payload())
	}
}

// mkFrag builds a parsed-looking fragment directly.
func mkFrag(idx, total uint16, orig uint32, data string) Frame {
	return Frame{Ver: VerFrag, ID: seq32(9), OrigVer: VerTx, FragIndex: idx, FragTotal: total, OrigPayloadLen: orig, Payload: []byte(data)}
}

func TestAssemblyErrors(t *testing.T) {
	cases := []struct {
		name  string
		first []Frame
		add   Frame
		want  error
	}{
		{"not a fragment", nil, Frame{Ver: VerTx}, ErrBadVersion},
		{"invalid fragment", nil, mkFrag(3, 3, 10, "x"), ErrFragIndex},
		{"other id", []Frame{mkFrag(0, 3, 10, "abcd")}, func() Frame { f := mkFrag(1, 3, 10, "efgh"); f.ID[0]++; return f }(), ErrFragMismatch},
		{"other orig len", []Frame{mkFrag(0, 3, 10, "abcd")}, mkFrag(1, 3, 11, "efgh"), ErrFragMismatch},
		{"other total", []Frame{mkFrag(0, 3, 10, "abcd")}, mkFrag(1, 4, 10, "efgh"), ErrFragMismatch},
		{"other orig ver", []Frame{mkFrag(0, 3, 10, "abcd")}, func() Frame { f := mkFrag(1, 3, 10, "efgh"); f.OrigVer = VerBEEF; return f }(), ErrFragMismatch},
		{"other topic", []Frame{mkFrag(0, 3, 10, "abcd")}, func() Frame { f := mkFrag(1, 3, 10, "efgh"); f.SubtreeID[0] = 1; return f }(), ErrFragMismatch},
		{"non-last wrong size", []Frame{mkFrag(0, 3, 10, "abcd")}, mkFrag(1, 3, 10, "efg"), ErrFragSize},
		{"last wrong size", []Frame{mkFrag(0, 3, 10, "abcd")}, mkFrag(2, 3, 10, "ijk"), ErrFragSize},
		{"last first not divisible", nil, mkFrag(2, 3, 10, "ijk"), ErrFragSize},
		{"last first longer than chunk", nil, mkFrag(2, 3, 10, "ijklmnop"), ErrFragSize},
		{"chunk too small for total", nil, mkFrag(0, 3, 10, "ab"), ErrFragSize},
		{"chunk too big for total", nil, mkFrag(0, 3, 10, "abcde"), ErrFragSize},
		{"single fragment short", nil, mkFrag(0, 1, 10, "abc"), ErrFragSize},
		{"empty non-last", nil, mkFrag(0, 2, 1, ""), ErrFragSize},
		{"duplicate", []Frame{mkFrag(0, 3, 10, "abcd")}, mkFrag(0, 3, 10, "zzzz"), ErrFragDuplicate},
		{"late after completion", []Frame{mkFrag(0, 2, 5, "abc"), mkFrag(1, 2, 5, "de")}, mkFrag(1, 2, 5, "de"), ErrFragDuplicate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a Assembly
			for i := range c.first {
				if _, err := a.Add(&c.first[i]); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			before := a.Received()
			_, err := a.Add(&c.add)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if a.Received() != before {
				t.Errorf("rejected fragment changed the assembly")
			}
			if len(c.first) == 0 && a.Total() != 0 {
				t.Errorf("rejected first fragment claimed the assembly (total %d)", a.Total())
			}
		})
	}
}

func TestAssemblyBoundsAndReuse(t *testing.T) {
	// The object limit applies to hand-built fragments too.
	a := Assembly{Limits: Limits{MaxObject: 100}}
	f := mkFrag(0, 2, 101, "x")
	if _, err := a.Add(&f); !errors.Is(err, ErrFragObjectTooLarge) {
		t.Errorf("over MaxObject: %v", err)
	}
	// The first of many in-order fragments holds about one chunk.
	var big Assembly
	f = mkFrag(0, 1000, 1000*1000, string(make([]byte, 1000)))
	if _, err := big.Add(&f); err != nil {
		t.Fatal(err)
	}
	if big.MemSize() > 2000 {
		t.Errorf("holds %d bytes after one 1000-byte fragment", big.MemSize())
	}
	// Reset allows a new object and keeps the buffer.
	big.Reset()
	if big.Total() != 0 || big.Complete() || big.Payload() != nil {
		t.Error("Reset left state")
	}
	if _, ok := big.Frame(); ok {
		t.Error("Frame() ok before completion")
	}
	g := mkFrag(0, 1, 3, "abc")
	if done, err := big.Add(&g); !done || err != nil || string(big.Payload()) != "abc" {
		t.Errorf("after Reset: %v %v %q", done, err, big.Payload())
	}
	if _, err := Reassemble(nil); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Reassemble(nil): %v", err)
	}
	part := []Frame{mkFrag(0, 3, 10, "abcd"), mkFrag(2, 3, 10, "ij")}
	if _, err := Reassemble(part); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Reassemble(partial): %v", err)
	}
	bad := []Frame{mkFrag(0, 3, 10, "abcd"), mkFrag(1, 3, 10, "ef")}
	if _, err := Reassemble(bad); !errors.Is(err, ErrFragSize) {
		t.Errorf("Reassemble(bad): %v", err)
	}
}
