// Package fabric is the multicast plumbing every mcdedup component shares:
// the options and flags that say where the fabric is (interfaces, port, shard
// width, scope, source mode, group-id or IPv4 mapping, hops, loop, buffers),
// the egress that multicasts a batch of frames to their shard groups on every
// interface, and the joins that let taps, listeners and retry endpoints
// receive every shard group. The bench relay and the proxy both go through it,
// so a throughput ratio between them compares like with like.
package fabric

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/envflag"
)

// Defaults used by Defaults and by the flags of RegisterFlags.
const (
	// DefaultShardBits is the default tx shard width: 256 groups. A tap
	// joining all of them over IPv4 needs net.ipv4.igmp_max_memberships
	// of at least 256 plus its control groups.
	DefaultShardBits = 8
	// DefaultHops is the default multicast hop limit: the local link only.
	DefaultHops = 1
	// DefaultSendBuffer is the default egress socket send buffer (4 MiB).
	DefaultSendBuffer = 4 << 20
	// DefaultRecvBuffer is the default receive buffer of taps (8 MiB), about
	// 8,000 queued datagrams of MTU size at the kernel's accounting.
	DefaultRecvBuffer = 8 << 20
)

// Options says where the multicast fabric is and how its sockets are set up.
// Zero fields mean their defaults except Loop, which the zero value leaves
// off: build Options with Defaults (or RegisterFlags) and change what
// differs.
type Options struct {
	// Ifaces lists the interfaces that each get every frame (one socket
	// per interface on egress, one membership per interface on joins).
	// Empty means one socket and joins on the interface the routing table
	// picks.
	Ifaces []string
	// Port is the UDP port of every group; 0 means frame.DefaultDataPort
	// (9001).
	Port uint16
	// ShardBits is the tx shard width, 1–12: 2^ShardBits shard groups.
	// 0 means DefaultShardBits.
	ShardBits uint
	// Scope is the IPv6 scope of the group addresses; 0 means site.
	Scope frame.Scope
	// Mode is ASM or SSM. Under SSM receivers join (source, group) pairs
	// for every address of Sources.
	Mode frame.Mode
	// GroupID fills bytes 12–13 of IPv6 group addresses; 0 means
	// frame.DefaultGroupID (0x000B).
	GroupID uint16
	// IPv4Base, when valid, selects the IPv4 mapping base+index for hosts
	// without IPv6 multicast (and for loopback); Scope and GroupID are then
	// unused.
	IPv4Base netip.Addr
	// Hops is the multicast hop limit (TTL), 1–255; 0 means the kernel
	// default (1).
	Hops int
	// Loop delivers copies of sent frames to members on this host
	// (IP_MULTICAST_LOOP), which local listeners and taps need. Defaults
	// sets it; false turns loop off.
	Loop bool
	// SendBuffer is the egress socket send buffer in bytes; 0 means the
	// kernel default.
	SendBuffer int
	// RecvBuffer is the tap socket receive buffer in bytes; 0 means the
	// kernel default.
	RecvBuffer int
	// Source is the address egress sockets bind to (the stable SSM
	// publisher address); the zero value binds the wildcard address.
	Source netip.Addr
	// Sources are the publishers a receiver accepts under SSM, joined as
	// (source, group) pairs; unused under ASM.
	Sources []netip.Addr
	// Batch is the most datagrams one sendmmsg or recvmmsg call moves; 0
	// means udpio.DefaultBatch. It is not a shared flag: binaries set it
	// from their own -batch.
	Batch int

	// envPrefix is the env prefix the flags were registered with, so that
	// Validate names the right env vars.
	envPrefix string
}

// Defaults returns the Options the flags of RegisterFlags default to:
// IPv6 site-scope ASM on port 9001, DefaultShardBits, hop limit 1, loop on,
// 4 MiB send and 8 MiB receive buffers.
func Defaults() Options {
	return Options{
		Port:       frame.DefaultDataPort,
		ShardBits:  DefaultShardBits,
		Scope:      frame.ScopeSite,
		Mode:       frame.ModeASM,
		GroupID:    frame.DefaultGroupID,
		Hops:       DefaultHops,
		Loop:       true,
		SendBuffer: DefaultSendBuffer,
		RecvBuffer: DefaultRecvBuffer,
	}
}

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid fabric option")

// Validate checks the options and returns an error naming the offending
// flag and its env var (with the prefix RegisterFlags was given), e.g.
// "fabric: -shard-bits (env SHARD_BITS) = 13: must be 1–12".
func (o *Options) Validate() error {
	if o.ShardBits > frame.MaxShardBits {
		return o.errorf(flagShardBits, o.ShardBits, "must be 1–%d", frame.MaxShardBits)
	}
	if o.Hops < 0 || o.Hops > 255 {
		return o.errorf(flagHops, o.Hops, "must be 1–255 (0 = kernel default)")
	}
	if o.SendBuffer < 0 {
		return o.errorf(flagSendBuffer, o.SendBuffer, "must not be negative")
	}
	if o.RecvBuffer < 0 {
		return o.errorf(flagRecvBuffer, o.RecvBuffer, "must not be negative")
	}
	if o.Batch < 0 {
		return fmt.Errorf("fabric: batch %d: must not be negative: %w", o.Batch, ErrInvalid)
	}
	if err := o.validateIfaces(); err != nil {
		return err
	}
	if _, err := o.Table(); err != nil {
		return err
	}
	return o.validateAddrs()
}

func (o *Options) validateIfaces() error {
	seen := make(map[string]bool, len(o.Ifaces))
	for _, name := range o.Ifaces {
		if name == "" {
			return o.errorf(flagIface, o.Ifaces, "empty interface name")
		}
		if seen[name] {
			return o.errorf(flagIface, o.Ifaces, "interface %q listed twice", name)
		}
		seen[name] = true
	}
	return nil
}

// validateAddrs checks that Source and Sources are unicast addresses of the
// family of the groups.
func (o *Options) validateAddrs() error {
	v4 := o.IPv4Base.IsValid()
	check := func(flag string, a netip.Addr) error {
		a = a.Unmap()
		switch {
		case a.Is4() != v4:
			fam := "IPv6"
			if v4 {
				fam = "IPv4"
			}
			return o.errorf(flag, a, "must be an %s address like the groups", fam)
		case a.IsMulticast(), a.IsUnspecified():
			return o.errorf(flag, a, "must be a unicast address")
		}
		return nil
	}
	if o.Source.IsValid() {
		if err := check(flagSource, o.Source); err != nil {
			return err
		}
	}
	for _, s := range o.Sources {
		if err := check(flagSources, s); err != nil {
			return err
		}
	}
	return nil
}

// Table returns the group table of the options (IPv4 mapping when IPv4Base
// is valid, else IPv6 by Scope, Mode and GroupID), or an error naming the
// flag at fault.
func (o *Options) Table() (frame.GroupTable, error) {
	t, err := frame.NewGroupTable(frame.GroupConfig{
		IPv4Base: o.IPv4Base, Scope: o.Scope, Mode: o.Mode, GroupID: o.GroupID, Port: o.Port,
	})
	if err == nil {
		return t, nil
	}
	switch {
	case errors.Is(err, frame.ErrIPv4Base):
		return t, o.errorf(flagIPv4Base, o.IPv4Base, "%v", err)
	case errors.Is(err, frame.ErrBadScope), errors.Is(err, frame.ErrSSMScope):
		return t, o.errorf(flagScope, scopeName(o.scope()), "%v", err)
	case errors.Is(err, frame.ErrBadMode):
		return t, o.errorf(flagMode, modeName(o.Mode), "%v", err)
	}
	return t, fmt.Errorf("fabric: %w: %w", ErrInvalid, err)
}

// Bits returns the shard width, ShardBits or its default.
func (o *Options) Bits() uint {
	if o.ShardBits == 0 {
		return DefaultShardBits
	}
	return o.ShardBits
}

// Groups returns the number of tx shard groups, 2^Bits.
func (o *Options) Groups() int { return 1 << o.Bits() }

// IsIPv4 reports whether the options select the IPv4 group mapping.
func (o *Options) IsIPv4() bool { return o.IPv4Base.IsValid() }

func (o *Options) scope() frame.Scope {
	if o.Scope == 0 {
		return frame.ScopeSite
	}
	return o.Scope
}

// ifaceList returns Ifaces, or one empty name (routing decides) when none
// are configured.
func (o *Options) ifaceList() []string {
	if len(o.Ifaces) == 0 {
		return []string{""}
	}
	return o.Ifaces
}

// errorf returns an ErrInvalid error naming flag, its env var and the value.
func (o *Options) errorf(flag string, value any, format string, args ...any) error {
	return fmt.Errorf("fabric: -%s (env %s) = %v: %s: %w",
		flag, envflag.EnvName(o.envPrefix, flag), value, fmt.Sprintf(format, args...), ErrInvalid)
}
