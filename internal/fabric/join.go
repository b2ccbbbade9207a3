package fabric

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// Joiner is the part of *udpio.Conn that JoinShards needs.
type Joiner interface {
	// JoinGroup joins an any-source group on the named interface.
	JoinGroup(group netip.Addr, iface string) error
	// JoinSourceGroup joins (source, group) on the named interface.
	JoinSourceGroup(group, source netip.Addr, iface string) error
}

var _ Joiner = (*udpio.Conn)(nil)

// ErrNoSources is returned by JoinShards under SSM without any source.
var ErrNoSources = errors.New("fabric: ssm receivers need at least one source (-ssm-sources)")

// JoinShards joins all 2^ShardBits tx shard groups, plus the extra group
// indices (control groups such as frame.IdxBlock), on every interface of o:
// any-source under ASM, one (source, group) membership per address of
// o.Sources under SSM. Kernel limits apply per socket (see
// udpio.ErrMembershipLimit): over IPv4 the default
// net.ipv4.igmp_max_memberships of 20 allows shard bits ≤ 4 with a few
// control groups.
func JoinShards(conn Joiner, o Options, extra ...uint16) error {
	if err := o.Validate(); err != nil {
		return err
	}
	table, _ := o.Table()
	ssm := o.Mode == frame.ModeSSM
	if ssm && len(o.Sources) == 0 {
		return ErrNoSources
	}
	groups := o.Groups()
	total := (groups + len(extra)) * len(o.ifaceList())
	done := 0
	for _, iface := range o.ifaceList() {
		for i := range groups + len(extra) {
			idx := uint16(i)
			if i >= groups {
				idx = extra[i-groups]
			}
			group := table.IP(idx)
			var err error
			if ssm {
				for _, src := range o.Sources {
					if err = conn.JoinSourceGroup(group, src, iface); err != nil {
						break
					}
				}
			} else {
				err = conn.JoinGroup(group, iface)
			}
			if err != nil {
				return fmt.Errorf("fabric: join %v on interface %q (%d of %d joined): %w", group, iface, done, total, err)
			}
			done++
		}
	}
	return nil
}

// OpenTap opens a receive socket on the fabric port (wildcard address,
// SO_REUSEPORT so it can share the port with listeners and endpoints on the
// host; each such socket gets its own copy of every datagram) with o's
// receive buffer and batch size, and joins every shard group plus extra on
// every interface. A tap carries the whole fabric's traffic, so its socket is
// blocking-mode (udpio.Options.Blocking): ReadBatch waits in the kernel, a
// read deadline applies from the next ReadBatch call, and Close wakes a
// blocked read.
func OpenTap(o Options, extra ...uint16) (*udpio.Conn, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	table, _ := o.Table()
	network, bind := "udp6", netip.IPv6Unspecified()
	if table.IsIPv4() {
		network, bind = "udp4", netip.IPv4Unspecified()
	}
	c, err := udpio.Listen(network, netip.AddrPortFrom(bind, table.Port()).String(), udpio.Options{
		ReusePort:  true,
		RecvBuffer: o.RecvBuffer,
		BatchSize:  o.Batch,
		Blocking:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("fabric: tap: %w", err)
	}
	if err := JoinShards(c, o, extra...); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
