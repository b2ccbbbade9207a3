package frame

import (
	"net/netip"
	"testing"
)

var (
	sinkFrame Frame
	sinkU64   uint64
	sinkU32   uint32
	sinkBytes []byte
	sinkAP    netip.AddrPort
	sinkStr   string
	sinkErr   error
)

// TestZeroAllocs pins the hot-path operations at zero allocations.
func TestZeroAllocs(t *testing.T) {
	v2 := wireOf(t, "v2")
	v3 := wireOf(t, "v3")
	v8 := wireOf(t, "v8")
	f2, _ := Parse(v2)
	f8, _ := Parse(v8)
	buf := make([]byte, 0, 4096)
	src := SourceID(netip.MustParseAddr("2001:db8::1"))
	id := seq32(0xa0)
	tab, err := NewGroupTable(GroupConfig{Scope: ScopeSite, Mode: ModeSSM})
	if err != nil {
		t.Fatal(err)
	}
	tab4, _ := NewGroupTable(GroupConfig{IPv4Base: netip.MustParseAddr("239.192.0.0")})
	one := Frame{Ver: VerTx, ID: id, Payload: make([]byte, 3000)}
	frag0, _ := Parse(must(AppendFragment(nil, &one, 1000, 0)))
	frag1, _ := Parse(must(AppendFragment(nil, &one, 1000, 1)))
	var asm Assembly
	_, _ = asm.Add(&frag0) // size the buffers once

	cases := []struct {
		name string
		fn   func()
	}{
		{"Parse v2", func() { sinkFrame, sinkErr = Parse(v2) }},
		{"Parse v3", func() { sinkFrame, sinkErr = Parse(v3) }},
		{"Parse error", func() { sinkFrame, sinkErr = Parse(v2[:50]) }},
		{"Peek", func() { k, _ := Peek(v2); sinkU32 = uint32(k) }},
		{"Stamp", func() { Stamp(v2, 1, 2) }},
		{"HashKey", func() { sinkU64 = HashKey(src, 0xabc, f2.SubtreeID) }},
		{"ShardIndex", func() { sinkU32 = ShardIndex(&id, 12) }},
		{"GroupIndexFor", func() { sinkU32, _, _ = GroupIndexFor(&f2, 12, 8) }},
		{"SubtreeIngredient", func() { s := SubtreeIngredient(&f2); sinkU32 = uint32(s[0]) }},
		{"GroupTable.Addr v6", func() { sinkAP = tab.Addr(0xabc) }},
		{"GroupTable.Addr v4", func() { sinkAP = tab4.Addr(0xabc) }},
		{"AppendHeader", func() { sinkBytes = AppendHeader(buf[:0], &f2) }},
		{"Append", func() { sinkBytes = Append(buf[:0], &f2) }},
		{"AppendFragment", func() { sinkBytes, sinkErr = AppendFragment(buf[:0], &one, 1000, 2) }},
		{"CacheKey", func() { k := f2.Key(); sinkU32 = uint32(k[0]) }},
		{"Reason", func() { sinkStr = Reason(ErrFragLen) }},
		{"BundleMembers", func() {
			it := BundleMembers(&f8)
			for it.Next() {
				sinkBytes = it.Member().Tx
			}
		}},
		{"Assembly reuse", func() {
			asm.Reset()
			_, sinkErr = asm.Add(&frag1)
			_, sinkErr = asm.Add(&frag0)
		}},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, c.fn); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", c.name, n)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
