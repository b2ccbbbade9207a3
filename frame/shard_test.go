package frame

import (
	"math/rand/v2"
	"testing"
)

func TestShardIndex(t *testing.T) {
	a := seq32(0xa0) // starts a0 a1 a2 a3
	ones := [32]byte{0xff, 0xff, 0xff, 0xff}
	cases := []struct {
		id   [32]byte
		bits uint
		want uint32
	}{
		{a, 0, 0},
		{a, 1, 1},
		{a, 4, 0xa},
		{a, 8, 0xa0},
		{a, 12, 0xa0a},
		{a, 16, 0xa0a1},
		{a, 32, 0xa0a1a2a3},
		{a, 40, 0xa0a1a2a3},
		{ones, 12, 0xfff},
		{ones, 1, 1},
		{[32]byte{}, 12, 0},
		{[32]byte{0x7f, 0xff}, 1, 0},
	}
	for _, c := range cases {
		if got := ShardIndex(&c.id, c.bits); got != c.want {
			t.Errorf("ShardIndex(%x…, %d) = %#x, want %#x", c.id[:4], c.bits, got, c.want)
		}
	}
}

// One more bit splits group g into 2g and 2g+1 (PROTOCOL §3.1).
func TestShardIndexSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		var id [32]byte
		for i := range 4 {
			id[i] = byte(r.Uint32())
		}
		for bits := uint(0); bits < MaxShardBits; bits++ {
			g, h := ShardIndex(&id, bits), ShardIndex(&id, bits+1)
			if h>>1 != g || h >= 1<<(bits+1) {
				t.Fatalf("%x bits %d: %#x then %#x", id[:4], bits, g, h)
			}
		}
	}
}

func TestBEEFIndex(t *testing.T) {
	c := seq32(0xc0)
	for _, tc := range []struct {
		bits uint
		want uint16
	}{{0, 0x1000}, {1, 0x1001}, {8, 0x10c0}, {12, 0x1c0c}, {16, 0x1c0c}} {
		if got := BEEFIndex(&c, tc.bits); got != tc.want {
			t.Errorf("BEEFIndex(bits %d) = %#x, want %#x", tc.bits, got, tc.want)
		}
	}
}

func TestGroupIndexFor(t *testing.T) {
	want := map[string][2]uint32{ // hash ingredient, egress
		"v1":                 {0xa0a, 0xa0a},
		"v2":                 {0xa0a, 0xa0a},
		"v2-unstamped-empty": {0xa0a, 0xa0a},
		"v3":                 {0xa0a, 0xa0a},
		"v3-block-coinbase":  {0xFFF8, 0xFFFE},
		"v4-announce":        {0xFFFE, 0xFFFE},
		"v4-coinbase":        {0xFFF8, 0xFFFE},
		"v5":                 {0xFFFB, 0xFFFB},
		"v6":                 {0xFFF9, 0xFFFE},
		"v7":                 {0xFFFA, 0xFFFA},
		"v8":                 {0x0a0a, 0x0a0a},
		"v9":                 {0x10c0, 0x10c0},
	}
	for _, g := range goldens() {
		f, err := Parse(g.wire)
		if err != nil {
			t.Fatal(err)
		}
		h, e, ok := GroupIndexFor(&f, 12, 8)
		w, found := want[g.name]
		if !found {
			t.Errorf("no expectation for %s", g.name)
			continue
		}
		if !ok || h != w[0] || uint32(e) != w[1] {
			t.Errorf("%s: GroupIndexFor = %#x, %#x, %v; want %#x, %#x", g.name, h, e, ok, w[0], w[1])
		}
	}
	frag := func(orig, msg uint8) Frame {
		return Frame{Ver: VerFrag, OrigVer: orig, Byte7: msg, ID: seq32(0xa0), SubtreeID: seq32(0xc0)}
	}
	more := []struct {
		name string
		f    Frame
		h    uint32
		e    uint16
		ok   bool
	}{
		{"frag orig 0 is tx", frag(0, 0), 0xa0a, 0xa0a, true},
		{"frag of announce", frag(VerBlock, MsgBlockAnnounce), 0xFFFE, 0xFFFE, true},
		{"frag of subtree", frag(VerSubtree, MsgSubtreeHashes), 0xFFFB, 0xFFFB, true},
		{"frag of beef", frag(VerBEEF, 0), 0x10c0, 0x10c0, true},
		{"frag of anchor undefined", frag(VerAnchor, 0), 0, 0, false},
		{"frag bad orig", frag(0x07+4, 0), 0, 0, false},
		{"block bad msg", Frame{Ver: VerBlock, Byte7: 3}, 0, 0, false},
		{"subtree bad msg", Frame{Ver: VerSubtree}, 0, 0, false},
		{"unknown version", Frame{Ver: 0x0a}, 0, 0, false},
		{"tx bits clamped", Frame{Ver: VerTx, ID: seq32(0xa0)}, 0xa0a, 0xa0a, true},
	}
	for _, c := range more {
		txBits := uint(12)
		if c.name == "tx bits clamped" {
			txBits = 20
		}
		h, e, ok := GroupIndexFor(&c.f, txBits, 8)
		if h != c.h || e != c.e || ok != c.ok {
			t.Errorf("%s: = %#x, %#x, %v; want %#x, %#x, %v", c.name, h, e, ok, c.h, c.e, c.ok)
		}
	}
}

func TestSubtreeIngredient(t *testing.T) {
	a, c, z := seq32(0xa0), seq32(0xc0), [32]byte{}
	cases := []struct {
		name string
		f    Frame
		want [32]byte
	}{
		{"v1", Frame{Ver: VerLegacy, ID: a}, z},
		{"v2", Frame{Ver: VerTx, ID: a, SubtreeID: c}, c},
		{"v4", Frame{Ver: VerBlock, ID: a, SubtreeID: c}, z},
		{"v5 uses off-8", Frame{Ver: VerSubtree, ID: a, SubtreeID: c}, a},
		{"v6", Frame{Ver: VerAnchor, ID: a, SubtreeID: c}, z},
		{"v7", Frame{Ver: VerHeader, ID: a, SubtreeID: c}, z},
		{"v8 uses off-8", Frame{Ver: VerBundle, ID: a}, a},
		{"v9 excludes topic", Frame{Ver: VerBEEF, ID: a, SubtreeID: c}, z},
		{"frag of tx", Frame{Ver: VerFrag, OrigVer: VerTx, ID: a, SubtreeID: c}, c},
		{"frag orig 0", Frame{Ver: VerFrag, ID: a, SubtreeID: c}, c},
		{"frag of subtree", Frame{Ver: VerFrag, OrigVer: VerSubtree, ID: a, SubtreeID: c}, a},
		{"frag of beef", Frame{Ver: VerFrag, OrigVer: VerBEEF, ID: a, SubtreeID: c}, z},
	}
	for _, tc := range cases {
		if got := SubtreeIngredient(&tc.f); got != tc.want {
			t.Errorf("%s: %x…, want %x…", tc.name, got[:2], tc.want[:2])
		}
	}
}
