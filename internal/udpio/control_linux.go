package udpio

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// applyOptions sets opts on a socket before bind; network is "udp4" or
// "udp6" as net.ListenConfig.Control reports it. A dual-stack AF_INET6
// socket gets the IPv4 multicast options too, since it also carries IPv4.
func applyOptions(fd int, network string, o *Options) error {
	v6 := strings.HasSuffix(network, "6")
	v4 := !v6
	if v6 {
		only, err := unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
		if err != nil {
			return fmt.Errorf("getsockopt IPV6_V6ONLY: %w", err)
		}
		v4 = only == 0
	}
	s := sockopts{fd: fd}
	if o.ReusePort {
		s.int(unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT")
	}
	if o.RecvBuffer > 0 {
		s.buffer(unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, o.RecvBuffer, "SO_RCVBUF")
	}
	if o.SendBuffer > 0 {
		s.buffer(unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, o.SendBuffer, "SO_SNDBUF")
	}
	s.int(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1, "SO_RXQ_OVFL")
	if o.MulticastHops < 0 || o.MulticastHops > 255 {
		s.fail("Options.MulticastHops", fmt.Errorf("%d is outside 1..255", o.MulticastHops))
	}
	mcIndex := 0
	if o.MulticastInterface != "" && s.err == nil {
		idx, err := ifindex(fd, o.MulticastInterface)
		s.fail("Options.MulticastInterface", err)
		mcIndex = int(idx)
	}
	loop := 1
	if o.NoMulticastLoop {
		loop = 0
	}
	if v4 {
		if !o.keepMulticastAll {
			s.int(unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL")
		}
		s.int(unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, loop, "IP_MULTICAST_LOOP")
		if o.MulticastHops > 0 {
			s.int(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, o.MulticastHops, "IP_MULTICAST_TTL")
		}
		if mcIndex > 0 && s.err == nil {
			s.fail("IP_MULTICAST_IF", unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF,
				&unix.IPMreqn{Ifindex: int32(mcIndex)}))
		}
	}
	if v6 {
		if !o.keepMulticastAll {
			// Linux ≥ 4.20; older kernels deliver foreign IPv6 groups anyway.
			s.optional(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0, "IPV6_MULTICAST_ALL")
		}
		s.int(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, loop, "IPV6_MULTICAST_LOOP")
		if o.MulticastHops > 0 {
			s.int(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, o.MulticastHops, "IPV6_MULTICAST_HOPS")
		}
		if mcIndex > 0 {
			s.int(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, mcIndex, "IPV6_MULTICAST_IF")
		}
	}
	return s.err
}

// sockopts applies a sequence of socket options, keeping the first error
// and skipping the rest once one failed.
type sockopts struct {
	fd  int
	err error
}

func (s *sockopts) fail(name string, err error) {
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("%s: %w", name, err)
	}
}

func (s *sockopts) int(level, opt, value int, name string) {
	if s.err == nil {
		s.fail("setsockopt "+name, unix.SetsockoptInt(s.fd, level, opt, value))
	}
}

// optional is int for an option older kernels lack (ENOPROTOOPT).
func (s *sockopts) optional(level, opt, value int, name string) {
	if s.err == nil {
		if err := unix.SetsockoptInt(s.fd, level, opt, value); !errors.Is(err, unix.ENOPROTOOPT) {
			s.fail("setsockopt "+name, err)
		}
	}
}

// buffer sets a buffer size with the FORCE variant, which ignores
// net.core.[rw]mem_max but needs CAP_NET_ADMIN, falling back to the plain
// option (capped by the sysctl) when not permitted.
func (s *sockopts) buffer(force, plain, size int, name string) {
	if s.err != nil {
		return
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, force, size); err == nil || !errors.Is(err, unix.EPERM) {
		s.fail("setsockopt "+name+"FORCE", err)
		return
	}
	s.int(unix.SOL_SOCKET, plain, size, name)
}

// ifindex resolves an interface name with SIOCGIFINDEX on the socket
// itself, so the name is looked up in the socket's network namespace rather
// than the calling thread's.
func ifindex(fd int, name string) (uint32, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("interface %q: %w", name, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("interface %q: %w", name, err)
	}
	return ifr.Uint32(), nil
}

// BufferSizes returns the receive and send buffer sizes granted, as
// getsockopt reports them: Linux doubles a requested size to leave room for
// its bookkeeping, so a fully granted request of N bytes reads back as 2N.
func (c *Conn) BufferSizes() (rcv, snd int) { return c.rcvBuf, c.sndBuf }

// BufferShortfall returns nil if the kernel granted the buffer sizes that
// Options asked for, and otherwise an error saying which sysctl capped them
// (net.core.rmem_max, net.core.wmem_max), for a startup warning. Without
// CAP_NET_ADMIN the FORCE options are refused and the sysctl caps apply.
func (c *Conn) BufferShortfall() error {
	var errs []error
	if c.rcvReq > 0 && c.rcvBuf < 2*c.rcvReq {
		errs = append(errs, fmt.Errorf("udpio: receive buffer: asked for %d bytes, kernel granted %d; raise net.core.rmem_max or run with CAP_NET_ADMIN", c.rcvReq, c.rcvBuf/2))
	}
	if c.sndReq > 0 && c.sndBuf < 2*c.sndReq {
		errs = append(errs, fmt.Errorf("udpio: send buffer: asked for %d bytes, kernel granted %d; raise net.core.wmem_max or run with CAP_NET_ADMIN", c.sndReq, c.sndBuf/2))
	}
	return errors.Join(errs...)
}
