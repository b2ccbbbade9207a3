package frame

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// The expected values were computed outside Go, with the xxHash project's own
// C command-line tool (xxhsum 0.8.1, Debian package "xxhash", `xxhsum -H1`)
// over the 52 input bytes written to a file; the tool printed
// ef46db3751d8e999 for an empty file, the published XXH64("") vector.
func TestHashKeyGolden(t *testing.T) {
	cases := []struct {
		name    string
		src     netip.Addr
		idx     uint32
		subtree [32]byte
		want    uint64
	}{
		// 00…00ffffc0000201 ‖ 00000abc ‖ 000102…1f
		{"ipv4 sender, tx shard", netip.MustParseAddr("192.0.2.1"), 0xABC, seq32(0x00), 0x3c9ab7923a9d8701},
		// 20010db8000000000000000000000007 ‖ 0000fffe ‖ 32 zero bytes
		{"ipv6 sender, block group", netip.MustParseAddr("2001:db8::7"), uint32(IdxBlock), [32]byte{}, 0x9208a0ed7bdbfed7},
	}
	for _, c := range cases {
		if got := HashKey(SourceID(c.src), c.idx, c.subtree); got != c.want {
			t.Errorf("%s: HashKey = %#016x, want %#016x", c.name, got, c.want)
		}
	}
}

// TestHashKeySecondFormulation checks HashKey against xxhash's streaming
// digest fed field by field (a different code path from the one-shot Sum64).
func TestHashKeySecondFormulation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var src [16]byte
		var sub [32]byte
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		for i := range sub {
			sub[i] = byte(r.Uint32())
		}
		idx := r.Uint32()
		d := xxhash.New()
		_, _ = d.Write(src[:])
		_, _ = d.Write(binary.BigEndian.AppendUint32(nil, idx))
		_, _ = d.Write(sub[:])
		if got, want := HashKey(src, idx, sub), d.Sum64(); got != want {
			t.Fatalf("HashKey = %#x, streaming = %#x", got, want)
		}
	}
}

func TestSourceID(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"192.0.2.1", "00000000000000000000ffffc0000201"},
		{"::ffff:192.0.2.1", "00000000000000000000ffffc0000201"},
		{"2001:db8::7", "20010db8000000000000000000000007"},
		{"fe80::1%eth0", "fe800000000000000000000000000001"},
	}
	for _, c := range cases {
		a := netip.MustParseAddr(c.in)
		got := SourceID(a)
		if got != [16]byte(hx(c.want)) {
			t.Errorf("SourceID(%s) = %x, want %s", c.in, got, c.want)
		}
		if ip := net.ParseIP(a.WithZone("").String()).To16(); string(ip) != string(got[:]) {
			t.Errorf("SourceID(%s) differs from net.IP.To16 %x", c.in, ip)
		}
	}
	if SourceID(netip.Addr{}) != [16]byte{} {
		t.Error("SourceID(zero) not zero")
	}
}
