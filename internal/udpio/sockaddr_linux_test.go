package udpio

import (
	"errors"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestSockaddrRoundTrip(t *testing.T) {
	resolve := func(zone string) (uint32, error) {
		if zone == "eth7" {
			return 7, nil
		}
		return 0, errors.New("no such interface")
	}
	tests := []struct {
		name    string
		family  int
		in      string
		wantLen uint32
		want    string // decoded; "" means equal to in
		wantErr error
	}{
		{"v4 on v4", unix.AF_INET, "192.0.2.1:4242", unix.SizeofSockaddrInet4, "", nil},
		{"mapped v4 on v4", unix.AF_INET, "[::ffff:192.0.2.1]:80", unix.SizeofSockaddrInet4, "192.0.2.1:80", nil},
		{"v4 on v6 is mapped, decoded unmapped", unix.AF_INET6, "239.1.2.3:65535", unix.SizeofSockaddrInet6, "", nil},
		{"v6", unix.AF_INET6, "[2001:db8::1]:1", unix.SizeofSockaddrInet6, "", nil},
		{"numeric zone", unix.AF_INET6, "[fe80::1%12]:9", unix.SizeofSockaddrInet6, "", nil},
		{"named zone", unix.AF_INET6, "[fe80::1%eth7]:9", unix.SizeofSockaddrInet6, "[fe80::1%7]:9", nil},
		{"v6 on v4", unix.AF_INET, "[2001:db8::1]:1", 0, "", ErrAddressFamily},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sa rawSockaddr
			n, err := encodeSockaddr(&sa, tc.family, netip.MustParseAddrPort(tc.in), resolve)
			if !errors.Is(err, tc.wantErr) || n != tc.wantLen {
				t.Fatalf("encode = %d, %v; want %d, %v", n, err, tc.wantLen, tc.wantErr)
			}
			if err != nil {
				return
			}
			var zones zoneNames
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got := decodeSockaddr(&sa, &zones); got.String() != want {
				t.Errorf("decode = %v, want %s", got, want)
			}
		})
	}
	var sa rawSockaddr
	if _, err := encodeSockaddr(&sa, unix.AF_INET6, netip.MustParseAddrPort("[fe80::1%nope]:9"), resolve); err == nil {
		t.Error("unknown zone encoded")
	}
	if got := decodeSockaddr(&rawSockaddr{Family: unix.AF_UNIX}, nil); got.IsValid() {
		t.Errorf("AF_UNIX decoded as %v", got)
	}
}

func TestZoneNamesBounded(t *testing.T) {
	var z zoneNames
	for id := range uint32(3 * maxZoneNames) {
		z.name(id)
	}
	if len(z.m) != maxZoneNames {
		t.Errorf("cache holds %d names, want %d", len(z.m), maxZoneNames)
	}
	if z.name(2*maxZoneNames+1) != "129" {
		t.Errorf("uncached name wrong")
	}
}

// cmsg builds one control message with a 4-byte payload.
func cmsg(level, typ int32, v uint32) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(4))
	*(*uint32)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = v
	return b
}

func TestRxqOverflowParse(t *testing.T) {
	other := cmsg(unix.IPPROTO_IP, unix.IP_TTL, 64)
	ovfl := cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 12345)
	tests := []struct {
		name string
		oob  []byte
		want uint32
		ok   bool
	}{
		{"empty", nil, 0, false},
		{"only counter", ovfl, 12345, true},
		{"after another", append(append([]byte{}, other...), ovfl...), 12345, true},
		{"other only", other, 0, false},
		{"truncated", ovfl[:unix.CmsgLen(0)+2], 0, false},
		{"bad length", func() []byte { b := append([]byte{}, ovfl...); b[0] = 1; return b }(), 0, false},
	}
	for _, tc := range tests {
		if got, ok := rxqOverflow(tc.oob); got != tc.want || ok != tc.ok {
			t.Errorf("%s: rxqOverflow = %d, %v; want %d, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestObserveDropsWrapsAround(t *testing.T) {
	c := &Conn{}
	for _, v := range []uint32{5, 5, 9, 0xFFFFFFFE, 3} {
		c.observeDrops(v)
	}
	// 5 + 4 + (0xFFFFFFFE-9) + 5 across the wrap.
	if want := uint64(0xFFFFFFFE) + 5; c.KernelDrops() != want {
		t.Errorf("KernelDrops = %d, want %d", c.KernelDrops(), want)
	}
}
