package fabric

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/envflag"
)

// Names of the shared flags. Each env var is the binary's env prefix
// followed by the name in upper snake case (SHARD_BITS, RELAY_SHARD_BITS).
const (
	flagIface      = "iface"
	flagPort       = "egress-port"
	flagShardBits  = "shard-bits"
	flagScope      = "scope"
	flagMode       = "source-mode"
	flagGroupID    = "mc-group-id"
	flagIPv4Base   = "ipv4-group-base"
	flagHops       = "mc-hops"
	flagLoop       = "mc-loop"
	flagSendBuffer = "sndbuf"
	flagRecvBuffer = "rcvbuf"
	flagSource     = "bind-source"
	flagSources    = "ssm-sources"
)

// RegisterFlags registers the shared fabric flags on ef and returns the
// Options they fill in as the flags are parsed, starting from Defaults. Each
// flag has the env var envPrefix+NAME ("" gives SHARD_BITS, "PROXY_" gives
// PROXY_SHARD_BITS). The flags:
//
//	-iface            interfaces, comma-separated, each gets every frame
//	-egress-port      UDP port of the groups (9001)
//	-shard-bits       tx shard width, 1–12
//	-scope            link, site, org or global (IPv6)
//	-source-mode      asm or ssm
//	-mc-group-id      IPv6 group-id, decimal or 0x hex (0x000B)
//	-ipv4-group-base  IPv4 mapping base (e.g. 239.192.0.0); empty = IPv6
//	-mc-hops          multicast hop limit
//	-mc-loop          loop sent frames back to this host's members
//	-sndbuf, -rcvbuf  socket buffer sizes in bytes
//	-bind-source      egress source address (SSM publishers)
//	-ssm-sources      publishers a receiver joins under SSM, comma-separated
//
// Call Validate on the result after parsing; malformed values are reported
// by the flag set (command line) or envflag.Set.Err (env), naming both.
func RegisterFlags(ef *envflag.Set, envPrefix string) *Options {
	o := Defaults()
	o.envPrefix = envPrefix
	env := func(name string) string { return envflag.EnvName(envPrefix, name) }
	ef.StringsVar(&o.Ifaces, flagIface, env(flagIface), nil,
		"multicast interfaces, comma-separated; each gets every frame (empty = by route)")
	ef.Var(&uintValue[uint16]{p: &o.Port, min: 1, max: 65535}, flagPort, env(flagPort),
		"UDP port of the multicast groups")
	ef.Var(&uintValue[uint]{p: &o.ShardBits, min: 1, max: frame.MaxShardBits}, flagShardBits, env(flagShardBits),
		"tx shard width in bits, 1–12 (2^bits shard groups)")
	ef.Var((*scopeValue)(&o.Scope), flagScope, env(flagScope), "IPv6 group scope: link, site, org or global")
	ef.Var((*modeValue)(&o.Mode), flagMode, env(flagMode), "multicast source mode: asm or ssm")
	ef.Var(&uintValue[uint16]{p: &o.GroupID, min: 1, max: 0xFFFF, hex: true}, flagGroupID, env(flagGroupID),
		"IPv6 group-id (bytes 12–13 of every group), decimal or 0x hex")
	ef.Var((*addrValue)(&o.IPv4Base), flagIPv4Base, env(flagIPv4Base),
		"IPv4 group base, e.g. 239.192.0.0: group i is base+i (empty = IPv6 groups)")
	ef.IntVar(&o.Hops, flagHops, env(flagHops), o.Hops, "multicast hop limit (TTL), 1–255")
	ef.BoolVar(&o.Loop, flagLoop, env(flagLoop), o.Loop, "loop sent multicast back to members on this host")
	ef.IntVar(&o.SendBuffer, flagSendBuffer, env(flagSendBuffer), o.SendBuffer, "egress socket send buffer, bytes")
	ef.IntVar(&o.RecvBuffer, flagRecvBuffer, env(flagRecvBuffer), o.RecvBuffer, "receive socket buffer, bytes")
	ef.Var((*addrValue)(&o.Source), flagSource, env(flagSource),
		"egress source address to bind (stable publisher address for SSM; empty = wildcard)")
	ef.Var((*addrsValue)(&o.Sources), flagSources, env(flagSources),
		"SSM: publisher addresses receivers join, comma-separated")
	return &o
}

// uintValue is a flag.Value for an unsigned integer within [min, max].
type uintValue[T uint | uint16] struct {
	p        *T
	min, max uint64
	hex      bool // print as 0x hex
}

func (v *uintValue[T]) String() string {
	if v.p == nil {
		return ""
	}
	if v.hex {
		return fmt.Sprintf("0x%04X", uint64(*v.p))
	}
	return strconv.FormatUint(uint64(*v.p), 10)
}

func (v *uintValue[T]) Set(s string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	if err != nil {
		return fmt.Errorf("not an unsigned integer (decimal or 0x hex)")
	}
	if n < v.min || n > v.max {
		return fmt.Errorf("must be %d–%d", v.min, v.max)
	}
	*v.p = T(n)
	return nil
}

// scopeValue is a flag.Value for frame.Scope by name.
type scopeValue frame.Scope

var scopeNames = []struct {
	name  string
	scope frame.Scope
}{{"link", frame.ScopeLink}, {"site", frame.ScopeSite}, {"org", frame.ScopeOrg}, {"global", frame.ScopeGlobal}}

func scopeName(s frame.Scope) string {
	for _, n := range scopeNames {
		if n.scope == s {
			return n.name
		}
	}
	return fmt.Sprintf("0x%X", uint8(s))
}

func (v *scopeValue) String() string { return scopeName(frame.Scope(*v)) }

func (v *scopeValue) Set(s string) error {
	for _, n := range scopeNames {
		if strings.EqualFold(strings.TrimSpace(s), n.name) {
			*v = scopeValue(n.scope)
			return nil
		}
	}
	return fmt.Errorf("must be link, site, org or global")
}

// modeValue is a flag.Value for frame.Mode by name.
type modeValue frame.Mode

func modeName(m frame.Mode) string {
	switch m {
	case frame.ModeASM:
		return "asm"
	case frame.ModeSSM:
		return "ssm"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

func (v *modeValue) String() string { return modeName(frame.Mode(*v)) }

func (v *modeValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "asm":
		*v = modeValue(frame.ModeASM)
	case "ssm":
		*v = modeValue(frame.ModeSSM)
	default:
		return fmt.Errorf("must be asm or ssm")
	}
	return nil
}

// addrValue is a flag.Value for an optional IP address ("" = none).
type addrValue netip.Addr

func (v *addrValue) String() string {
	if a := netip.Addr(*v); a.IsValid() {
		return a.String()
	}
	return ""
}

func (v *addrValue) Set(s string) error {
	a, err := parseAddr(s)
	*v = addrValue(a)
	return err
}

// addrsValue is a flag.Value for a comma-separated list of IP addresses.
type addrsValue []netip.Addr

func (v *addrsValue) String() string {
	parts := make([]string, len(*v))
	for i, a := range *v {
		parts[i] = a.String()
	}
	return strings.Join(parts, ",")
}

func (v *addrsValue) Set(s string) error {
	var out []netip.Addr
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		a, err := parseAddr(part)
		if err != nil {
			return err
		}
		out = append(out, a)
	}
	*v = out
	return nil
}

func parseAddr(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("not an IP address")
	}
	return a.Unmap(), nil
}
