package nack

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

var goldenAdvert = hx(pre, "20 05",
	"20010db8000000000000000000000042", // NACKAddr
	"2454",                             // NACKPort 9300
	"01", "80",                         // Tier 1, Preference 128
	"003c",                             // BeaconInterval 60 s
	"0018",                             // Flags: unicast | multicast retransmit
	"e3069283",                         // InstanceID = CRC-32C("123456789")
	"00000001",                         // Caps: range NACK
	"00000000000000000000000000000000") // reserved

var wantAdvert = Advert{
	Scope: 0x05, NACKAddr: netip.MustParseAddr("2001:db8::42"), NACKPort: 9300, Tier: 1, Preference: 128,
	BeaconInterval: 60, Flags: FlagUnicastRetransmit | FlagMulticastRetransmit, InstanceID: 0xe3069283, Caps: CapRangeNACK,
}

func TestAdvertGolden(t *testing.T) {
	got, err := ParseAdvert(goldenAdvert)
	if err != nil || got != wantAdvert {
		t.Fatalf("ParseAdvert = %+v, %v", got, err)
	}
	if enc := wantAdvert.Append(nil); !bytes.Equal(enc, goldenAdvert) {
		t.Errorf("Append\n got %x\nwant %x", enc, goldenAdvert)
	}
	if !got.RangeNACK() || !got.Has(FlagUnicastRetransmit|FlagMulticastRetransmit) || got.Has(FlagDraining) ||
		got.TTL() != 3*time.Minute || got.NACKAddrPort() != netip.MustParseAddrPort("[2001:db8::42]:9300") {
		t.Error("helpers")
	}
}

func TestAdvertAddresses(t *testing.T) {
	cases := []struct {
		addr netip.Addr
		wire string
		back netip.Addr
	}{
		{netip.MustParseAddr("192.0.2.1"), "00000000000000000000ffffc0000201", netip.MustParseAddr("192.0.2.1")},
		{netip.MustParseAddr("::ffff:192.0.2.1"), "00000000000000000000ffffc0000201", netip.MustParseAddr("192.0.2.1")},
		{netip.MustParseAddr("fe80::1%eth0"), "fe800000000000000000000000000001", netip.MustParseAddr("fe80::1")},
		{netip.Addr{}, "00000000000000000000000000000000", netip.IPv6Unspecified()},
	}
	for _, c := range cases {
		a := Advert{NACKAddr: c.addr}
		enc := a.Append(nil)
		if !bytes.Equal(enc[8:24], hx(c.wire)) {
			t.Errorf("%v encodes as %x", c.addr, enc[8:24])
		}
		got, err := ParseAdvert(enc)
		if err != nil || got.NACKAddr != c.back {
			t.Errorf("%v parses back as %v, %v", c.addr, got.NACKAddr, err)
		}
	}
}

func TestAdvertIgnoresReserved(t *testing.T) {
	b := bytes.Clone(goldenAdvert)
	for i := 40; i < 56; i++ {
		b[i] = 0xaa
	}
	b[31] |= 0x01 // reserved flag bit
	b = append(b, 1, 2, 3)
	got, err := ParseAdvert(b)
	if err != nil {
		t.Fatal(err)
	}
	want := wantAdvert
	want.Flags |= 0x0001
	if got != want {
		t.Errorf("got %+v", got)
	}
}

func TestInstanceID(t *testing.T) {
	// 0xe3069283 is the published CRC-32C check value of "123456789".
	for _, c := range []struct {
		host string
		want uint32
	}{{"123456789", 0xe3069283}, {"", 0}} {
		if got := InstanceID(c.host); got != c.want {
			t.Errorf("InstanceID(%q) = %#x, want %#x", c.host, got, c.want)
		}
	}
}
