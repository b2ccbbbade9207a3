package fabric

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

func TestValidate(t *testing.T) {
	v4 := netip.MustParseAddr("239.192.0.0")
	cases := []struct {
		name string
		mod  func(o *Options)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(o *Options) {}, ""},
		{"zero shard bits means default", func(o *Options) { o.ShardBits = 0 }, ""},
		{"ipv4 mapping", func(o *Options) { o.IPv4Base = v4 }, ""},
		{"shard bits too wide", func(o *Options) { o.ShardBits = 13 }, "-shard-bits (env SHARD_BITS) = 13"},
		{"hops", func(o *Options) { o.Hops = 256 }, "-mc-hops (env MC_HOPS)"},
		{"negative sndbuf", func(o *Options) { o.SendBuffer = -1 }, "-sndbuf (env SNDBUF)"},
		{"negative rcvbuf", func(o *Options) { o.RecvBuffer = -1 }, "-rcvbuf (env RCVBUF)"},
		{"interface twice", func(o *Options) { o.Ifaces = []string{"lo", "lo"} }, "-iface (env IFACE)"},
		{"empty interface", func(o *Options) { o.Ifaces = []string{""} }, "empty interface name"},
		{"ipv4 base not multicast", func(o *Options) { o.IPv4Base = netip.MustParseAddr("10.0.0.0") }, "-ipv4-group-base"},
		{"ipv4 base without room", func(o *Options) { o.IPv4Base = netip.MustParseAddr("239.255.1.0") }, "-ipv4-group-base"},
		{"bad scope", func(o *Options) { o.Scope = 3 }, "-scope (env SCOPE)"},
		{"ssm at link scope", func(o *Options) { o.Mode, o.Scope = frame.ModeSSM, frame.ScopeLink }, "-scope"},
		{"bad mode", func(o *Options) { o.Mode = 7 }, "-source-mode (env SOURCE_MODE)"},
		{"ipv4 source for ipv6 groups", func(o *Options) { o.Source = netip.MustParseAddr("127.0.0.1") }, "-bind-source"},
		{"multicast source", func(o *Options) { o.IPv4Base, o.Source = v4, netip.MustParseAddr("239.1.1.1") }, "unicast"},
		{"ssm source family", func(o *Options) { o.Sources = []netip.Addr{netip.MustParseAddr("10.0.0.1")} }, "-ssm-sources"},
		{"ipv6 source", func(o *Options) { o.Source = netip.MustParseAddr("fd00::1") }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Defaults()
			c.mod(&o)
			err := o.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want an ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}

func TestGroupsAndTable(t *testing.T) {
	o := Defaults()
	o.ShardBits = 4
	if o.Groups() != 16 {
		t.Errorf("Groups = %d, want 16", o.Groups())
	}
	tab, err := o.Table()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tab.Addr(3), netip.MustParseAddrPort("[ff05::b:3]:9001"); got != want {
		t.Errorf("IPv6 Addr(3) = %v, want %v", got, want)
	}
	o.IPv4Base, o.Port = netip.MustParseAddr("239.192.0.0"), 9100
	tab, err = o.Table()
	if err != nil {
		t.Fatal(err)
	}
	for idx, want := range map[uint16]string{0: "239.192.0.0:9100", 3: "239.192.0.3:9100", 0x1FF: "239.192.1.255:9100", frame.IdxBlock: "239.192.255.254:9100"} {
		if got := tab.Addr(idx); got.String() != want {
			t.Errorf("IPv4 Addr(%#x) = %v, want %s", idx, got, want)
		}
	}
	o.Mode, o.Scope, o.GroupID, o.IPv4Base = frame.ModeSSM, frame.ScopeGlobal, 0x1234, netip.Addr{}
	tab, err = o.Table()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tab.IP(0xA), netip.MustParseAddr("ff3e::1234:a"); got != want {
		t.Errorf("SSM global IP(0xA) = %v, want %v", got, want)
	}
}
