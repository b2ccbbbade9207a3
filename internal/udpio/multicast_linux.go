package udpio

import (
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// groupReq is struct group_req and groupSourceReq struct group_source_req
// of linux/in.h, used by MCAST_JOIN_GROUP and friends for both families.
type (
	sockaddrStorage struct {
		_  [0]uintptr // __kernel_sockaddr_storage is pointer-aligned
		sa rawSockaddr
		_  [128 - unix.SizeofSockaddrInet6]byte
	}
	groupReq struct {
		iface uint32
		group sockaddrStorage
	}
	groupSourceReq struct {
		iface  uint32
		group  sockaddrStorage
		source sockaddrStorage
	}
)

// JoinGroup joins the any-source multicast group on the named interface
// (resolved in the socket's network namespace; "" lets the kernel choose by
// route). An IPv4 group may be joined on an IPv4 or dual-stack socket, an
// IPv6 group on an IPv6 socket. See ErrMembershipLimit for kernel limits.
func (c *Conn) JoinGroup(group netip.Addr, iface string) error {
	return c.membership(unix.MCAST_JOIN_GROUP, "join", group, netip.Addr{}, iface)
}

// LeaveGroup leaves a group joined by JoinGroup.
func (c *Conn) LeaveGroup(group netip.Addr, iface string) error {
	return c.membership(unix.MCAST_LEAVE_GROUP, "leave", group, netip.Addr{}, iface)
}

// JoinSourceGroup joins the group on the named interface for datagrams from
// source only (source-specific multicast); several sources may be added.
func (c *Conn) JoinSourceGroup(group, source netip.Addr, iface string) error {
	return c.membership(unix.MCAST_JOIN_SOURCE_GROUP, "join", group, source, iface)
}

// LeaveSourceGroup removes a source added by JoinSourceGroup.
func (c *Conn) LeaveSourceGroup(group, source netip.Addr, iface string) error {
	return c.membership(unix.MCAST_LEAVE_SOURCE_GROUP, "leave", group, source, iface)
}

func (c *Conn) membership(opt int, verb string, group, source netip.Addr, iface string) error {
	group, source = group.Unmap().WithZone(""), source.Unmap().WithZone("")
	what := group.String()
	if source.IsValid() {
		what = fmt.Sprintf("(%v, %v)", source, group)
	}
	fail := func(err error) error { return fmt.Errorf("udpio: %s %s on %q: %w", verb, what, iface, err) }
	if !group.IsMulticast() {
		return fail(errors.New("not a multicast address"))
	}
	if source.IsValid() && source.Is4() != group.Is4() {
		return fail(errors.New("source and group address families differ"))
	}
	family, level := unix.AF_INET6, unix.IPPROTO_IPV6
	if group.Is4() {
		family, level = unix.AF_INET, unix.IPPROTO_IP
	} else if c.family == unix.AF_INET {
		return fail(ErrAddressFamily)
	}
	err := c.control(func(fd int) error {
		var idx uint32
		if iface != "" {
			var err error
			if idx, err = ifindex(fd, iface); err != nil {
				return err
			}
		}
		if !source.IsValid() {
			req := groupReq{iface: idx}
			putGroupAddr(&req.group, family, group)
			return setsockoptRaw(fd, level, opt, unsafe.Pointer(&req), unsafe.Sizeof(req))
		}
		req := groupSourceReq{iface: idx}
		putGroupAddr(&req.group, family, group)
		putGroupAddr(&req.source, family, source)
		return setsockoptRaw(fd, level, opt, unsafe.Pointer(&req), unsafe.Sizeof(req))
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM):
		// IPv4 reports both of its limits as ENOBUFS; IPv6 reports an
		// exhausted option memory (optmem_max) as ENOMEM.
		return fail(fmt.Errorf("%w (%s): %w", ErrMembershipLimit, limitHint(group, source), err))
	}
	return fail(err)
}

// putGroupAddr stores a group or source address (port 0) in ss.
func putGroupAddr(ss *sockaddrStorage, family int, addr netip.Addr) {
	// Cannot fail: the family matches the address and it has no zone.
	_, _ = encodeSockaddr(&ss.sa, family, netip.AddrPortFrom(addr, 0), nil)
}

// limitHint names the sysctls that bound a join refused for a limit.
func limitHint(group, source netip.Addr) string {
	switch {
	case source.IsValid() && group.Is4():
		return "raise net.ipv4.igmp_max_msf (sources per group, default 10) or net.core.optmem_max"
	case source.IsValid():
		return "raise net.ipv6.mld_max_msf (sources per group, default 64) or net.core.optmem_max"
	case group.Is4():
		return "raise net.ipv4.igmp_max_memberships (groups per socket, default 20) and net.core.optmem_max (about 48 bytes per group)"
	}
	return "raise net.core.optmem_max (about 56 bytes per IPv6 group; 128 KiB admits about 2300)"
}

// setsockoptRaw sets a socket option from a struct in memory.
func setsockoptRaw(fd, level, opt int, p unsafe.Pointer, size uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(p), size, 0)
	if e != 0 {
		return fmt.Errorf("setsockopt: %w", e)
	}
	return nil
}
