package frame

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGroupAddr6(t *testing.T) {
	a := seq32(0xa0)
	cases := []struct {
		scope Scope
		mode  Mode
		gid   uint16
		idx   uint16
		want  string
	}{
		{ScopeSite, ModeASM, DefaultGroupID, 3, "ff05::b:3"},
		{ScopeSite, ModeASM, DefaultGroupID, uint16(ShardIndex(&a, 12)), "ff05::b:a0a"},
		{ScopeSite, ModeASM, DefaultGroupID, uint16(ShardIndex(&a, 1)), "ff05::b:1"},
		{ScopeSite, ModeSSM, DefaultGroupID, IdxBlock, "ff35::b:fffe"},
		{ScopeSite, ModeSSM, DefaultGroupID, uint16(ShardIndex(&a, 8)), "ff35::b:a0"},
		{ScopeGlobal, ModeSSM, DefaultGroupID, IdxBEEFBase + 0xc0c, "ff3e::b:1c0c"},
		{ScopeGlobal, ModeASM, DefaultGroupID, 0, "ff0e::b:0"},
		{ScopeOrg, ModeASM, DefaultGroupID, IdxSubtreeData, "ff08::b:fffb"},
		{ScopeLink, ModeASM, DefaultGroupID, IdxBeacon, "ff02::b:fffd"},
		{ScopeSite, ModeASM, 0x1234, 0x0fff, "ff05::1234:fff"},
		{ScopeSite, ModeASM, 0, 7, "ff05::7"},
	}
	for _, c := range cases {
		got, err := GroupAddr6(c.scope, c.mode, c.gid, c.idx)
		if err != nil || got != netip.MustParseAddr(c.want) {
			t.Errorf("GroupAddr6(%#x, %d, %#x, %#x) = %v, %v; want %s", c.scope, c.mode, c.gid, c.idx, got, err, c.want)
		}
	}
}

func TestGroupAddr6Errors(t *testing.T) {
	cases := []struct {
		scope Scope
		mode  Mode
		want  error
	}{
		{ScopeLink, ModeSSM, ErrSSMScope},
		{ScopeOrg, ModeSSM, ErrSSMScope},
		{0x1, ModeASM, ErrBadScope},
		{0x3, ModeASM, ErrBadScope},
		{0x0, ModeSSM, ErrBadScope},
		{ScopeSite, 1, ErrBadMode},
		{ScopeSite, 2, ErrBadMode},
	}
	for _, c := range cases {
		if _, err := GroupAddr6(c.scope, c.mode, DefaultGroupID, 0); !errors.Is(err, c.want) {
			t.Errorf("GroupAddr6(%#x, %d): %v, want %v", c.scope, c.mode, err, c.want)
		}
	}
}

func TestGroupAddr4(t *testing.T) {
	cases := []struct {
		base string
		idx  uint16
		want string
	}{
		{"239.192.0.0", 3, "239.192.0.3"},
		{"239.192.0.0", IdxBlock, "239.192.255.254"},
		{"239.192.0.0", IdxBEEFBase, "239.192.16.0"},
		{"239.192.0.0", 0x0a0a, "239.192.10.10"},
		{"239.192.0.100", 0x00ff, "239.192.1.99"},
		{"239.255.0.0", 0xffff, "239.255.255.255"},
		{"224.0.0.0", 0, "224.0.0.0"},
		{"::ffff:239.192.0.0", 1, "239.192.0.1"},
	}
	for _, c := range cases {
		got, err := GroupAddr4(netip.MustParseAddr(c.base), c.idx)
		if err != nil || got != netip.MustParseAddr(c.want) {
			t.Errorf("GroupAddr4(%s, %#x) = %v, %v; want %s", c.base, c.idx, got, err, c.want)
		}
	}
	for _, bad := range []string{"239.255.0.1", "239.255.255.255", "10.0.0.0", "223.255.255.255", "ff05::b:0", "255.255.0.0"} {
		if _, err := GroupAddr4(netip.MustParseAddr(bad), 0); !errors.Is(err, ErrIPv4Base) {
			t.Errorf("GroupAddr4(%s): %v, want ErrIPv4Base", bad, err)
		}
	}
	if _, err := GroupAddr4(netip.Addr{}, 0); !errors.Is(err, ErrIPv4Base) {
		t.Errorf("GroupAddr4(zero): %v", err)
	}
}

func TestGroupTable(t *testing.T) {
	cases := []struct {
		name string
		cfg  GroupConfig
		idx  uint16
		want string
	}{
		{"defaults", GroupConfig{}, 3, "[ff05::b:3]:9001"},
		{"ssm global", GroupConfig{Scope: ScopeGlobal, Mode: ModeSSM, Port: 9300}, IdxBeacon, "[ff3e::b:fffd]:9300"},
		{"link lab gid", GroupConfig{Scope: ScopeLink, GroupID: 0xbeef}, 0xfff, "[ff02::beef:fff]:9001"},
		{"ipv4", GroupConfig{IPv4Base: netip.MustParseAddr("239.192.0.0"), Scope: 0x3}, IdxBlock, "239.192.255.254:9001"},
	}
	for _, c := range cases {
		tab, err := NewGroupTable(c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := tab.Addr(c.idx); got != netip.MustParseAddrPort(c.want) {
			t.Errorf("%s: Addr(%#x) = %v, want %s", c.name, c.idx, got, c.want)
		}
		if tab.IsIPv4() != c.cfg.IPv4Base.IsValid() || tab.Port() != tab.Addr(0).Port() {
			t.Errorf("%s: IsIPv4/Port", c.name)
		}
	}
	// Every index agrees with the direct computation.
	tab, _ := NewGroupTable(GroupConfig{Scope: ScopeSite, Mode: ModeSSM})
	tab4, _ := NewGroupTable(GroupConfig{IPv4Base: netip.MustParseAddr("239.1.0.0")})
	for i := range 1 << 16 {
		idx := uint16(i)
		if a, _ := GroupAddr6(ScopeSite, ModeSSM, DefaultGroupID, idx); tab.IP(idx) != a {
			t.Fatalf("idx %#x: table %v, direct %v", idx, tab.IP(idx), a)
		}
		if a, _ := GroupAddr4(netip.MustParseAddr("239.1.0.0"), idx); tab4.IP(idx) != a {
			t.Fatalf("idx %#x: table %v, direct %v", idx, tab4.IP(idx), a)
		}
	}
	for _, bad := range []GroupConfig{
		{Scope: ScopeOrg, Mode: ModeSSM},
		{Scope: 0x1},
		{Mode: 7},
		{IPv4Base: netip.MustParseAddr("239.255.128.0")},
	} {
		if _, err := NewGroupTable(bad); err == nil {
			t.Errorf("NewGroupTable(%+v) accepted", bad)
		}
	}
}

func TestAddressable(t *testing.T) {
	for _, c := range []struct {
		idx  uint16
		want bool
	}{
		{0, true}, {0x0fff, true}, {0x1000, true}, {0x1fff, true}, {0x2000, false}, {0xefff, false},
		{0xf000, false}, {IdxCoinbase, false}, {IdxAnchor, false}, {IdxHeader, true},
		{IdxSubtreeData, true}, {IdxSubtreeAnnounce, true}, {IdxBeacon, true}, {IdxBlock, true}, {0xffff, false},
	} {
		if got := Addressable(c.idx); got != c.want {
			t.Errorf("Addressable(%#x) = %v", c.idx, got)
		}
	}
}
