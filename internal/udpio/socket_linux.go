package udpio

import (
	"net"
	"net/netip"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenBlocking opens and binds the socket of a blocking-mode Conn the way
// net.ListenConfig.ListenPacket would (same address family choice,
// IPV6_V6ONLY and SO_BROADCAST, then Options through applyOptions, the code
// Listen's Control function runs, then bind), except that the descriptor
// stays blocking and is never registered with the runtime poller.
func listenBlocking(network, addr string, opts *Options) (*blockFD, error) {
	ua, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	fail := func(err error) (*blockFD, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: ua, Err: err}
	}
	family, v6only := socketFamily(network, ua)
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err == unix.EAFNOSUPPORT && network == "udp" && family == unix.AF_INET6 && (ua.IP == nil || ua.IP.IsUnspecified()) {
		family = unix.AF_INET // a kernel without IPv6: wildcard listens are IPv4
		fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	}
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	if err := setupAndBind(fd, family, v6only, ua, opts); err != nil {
		unix.Close(fd)
		return fail(err)
	}
	return newBlockFD(fd), nil
}

// socketFamily picks the address family as the net package does for a
// listening socket: udp4 and udp6 are what they say (udp6 IPv6-only), and
// udp is a dual-stack AF_INET6 socket on a wildcard address, else the
// family of the address.
func socketFamily(network string, ua *net.UDPAddr) (family int, v6only bool) {
	switch network {
	case "udp4":
		return unix.AF_INET, false
	case "udp6":
		return unix.AF_INET6, true
	}
	if ua.IP == nil || ua.IP.IsUnspecified() || ua.IP.To4() == nil {
		return unix.AF_INET6, false
	}
	return unix.AF_INET, false
}

// setupAndBind sets the default and requested options on fd and binds it.
func setupAndBind(fd, family int, v6only bool, ua *net.UDPAddr, opts *Options) error {
	ctrlNetwork := "udp4"
	if family == unix.AF_INET6 {
		ctrlNetwork = "udp6"
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(v6only)); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	ip := ua.IP
	if ip.IsMulticast() {
		// Like the net package: a multicast address means a wildcard
		// socket on that port that several sockets may share.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
		ip = nil
	}
	if err := applyOptions(fd, ctrlNetwork, opts); err != nil {
		return err
	}
	a, _ := netip.AddrFromSlice(ip)
	if a = a.Unmap(); !a.IsValid() || a.IsUnspecified() {
		a = netip.IPv4Unspecified()
		if family == unix.AF_INET6 {
			a = netip.IPv6Unspecified()
		}
	}
	var sa rawSockaddr
	n, err := encodeSockaddr(&sa, family, netip.AddrPortFrom(a.WithZone(ua.Zone), uint16(ua.Port)),
		func(zone string) (uint32, error) { return ifindex(fd, zone) })
	if err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(n)); e != 0 {
		return os.NewSyscallError("bind", e)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
