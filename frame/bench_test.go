package frame

import (
	"net/netip"
	"testing"
)

func benchV2(b *testing.B) []byte {
	b.Helper()
	f := Frame{Ver: VerTx, ID: seq32(0xa0), HashKey: 1, SeqNum: 2, SubtreeID: seq32(0xc0), Payload: make([]byte, 256)}
	return Append(nil, &f)
}

func BenchmarkParseV2(b *testing.B) {
	raw := benchV2(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		sinkFrame, sinkErr = Parse(raw)
	}
}

func BenchmarkPeek(b *testing.B) {
	raw := benchV2(b)
	b.ReportAllocs()
	for b.Loop() {
		k, _ := Peek(raw)
		sinkU32 = uint32(k)
	}
}

func BenchmarkStamp(b *testing.B) {
	raw := benchV2(b)
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		seq++
		Stamp(raw, 0x0123456789abcdef, seq)
	}
}

func BenchmarkHashKey(b *testing.B) {
	src := SourceID(netip.MustParseAddr("2001:db8::1"))
	sub := seq32(0xc0)
	b.ReportAllocs()
	var idx uint32
	for b.Loop() {
		idx++
		sinkU64 = HashKey(src, idx&0xfff, sub)
	}
}

func BenchmarkShardIndex(b *testing.B) {
	id := seq32(0xa0)
	b.ReportAllocs()
	for b.Loop() {
		id[0]++
		sinkU32 = ShardIndex(&id, 12)
	}
}

func BenchmarkGroupTableAddr(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  GroupConfig
	}{
		{"ipv6", GroupConfig{Scope: ScopeSite}},
		{"ipv4", GroupConfig{IPv4Base: netip.MustParseAddr("239.192.0.0")}},
	} {
		b.Run(c.name, func(b *testing.B) {
			tab, err := NewGroupTable(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var idx uint16
			for b.Loop() {
				idx++
				sinkAP = tab.Addr(idx & 0xfff)
			}
		})
	}
}

func BenchmarkAppendHeaderV2(b *testing.B) {
	f, _ := Parse(benchV2(b))
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes = AppendHeader(buf[:0], &f)
	}
}

func BenchmarkAssemble16K(b *testing.B) {
	orig := Frame{Ver: VerTx, ID: seq32(1), Payload: make([]byte, 16<<10)}
	raw, _ := Fragment(&orig, FragDataSize(1500))
	frags := make([]Frame, len(raw))
	for i := range raw {
		frags[i], _ = Parse(raw[i])
	}
	var a Assembly
	b.ReportAllocs()
	b.SetBytes(int64(len(orig.Payload)))
	for b.Loop() {
		a.Reset()
		for i := len(frags) - 1; i >= 0; i-- {
			_, sinkErr = a.Add(&frags[i])
		}
	}
}
