package udpio

import "net/netip"

// Options configures a socket opened by Listen. The zero value is a plain
// unconnected UDP socket with kernel-default buffers that still gets the
// settings every mcdedup socket has: IP_MULTICAST_ALL=0 (and
// IPV6_MULTICAST_ALL=0), so it receives only the groups it joined itself, and
// SO_RXQ_OVFL=1, so KernelDrops counts.
type Options struct {
	// ReusePort sets SO_REUSEPORT so several sockets can bind the same
	// address. Zero means off. Note that every socket of a SO_REUSEPORT
	// group gets its own copy of each multicast datagram (PEER-LESSONS 8).
	ReusePort bool

	// RecvBuffer is the requested receive buffer in bytes: SO_RCVBUFFORCE
	// when the process has CAP_NET_ADMIN, else SO_RCVBUF capped by
	// net.core.rmem_max. Zero means the kernel default
	// (net.core.rmem_default). Check Conn.BufferShortfall after Listen.
	RecvBuffer int
	// SendBuffer is the same for the send buffer (SO_SNDBUFFORCE /
	// SO_SNDBUF, net.core.wmem_max, net.core.wmem_default).
	SendBuffer int

	// MulticastInterface names the interface outgoing multicast leaves by
	// (IP_MULTICAST_IF with ip_mreqn, IPV6_MULTICAST_IF). It is resolved in
	// the socket's own network namespace. Zero means the routing table
	// decides.
	MulticastInterface string
	// NoMulticastLoop turns off IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP.
	// Zero means loop on: this host's own members of a group, including
	// sockets of this process, get a copy (the kernel default).
	NoMulticastLoop bool
	// MulticastHops is IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS, 1 to 255.
	// Zero means the kernel default, 1 (the local link only).
	MulticastHops int

	// Peer connects the socket, so messages with a zero Addr go to it and
	// only its datagrams are received. Zero means unconnected.
	Peer netip.AddrPort

	// BatchSize is the most messages one ReadBatch or WriteBatch system
	// call moves; larger caller batches are written in several calls and
	// read partially. Zero means DefaultBatch; values above 1024 (UIO_MAXIOV)
	// are capped.
	BatchSize int

	// Blocking opens a blocking socket that the Go runtime's network poller
	// never sees: ReadBatch and WriteBatch make their system calls directly
	// (recvmmsg with MSG_WAITFORONE, sendmmsg) and the calling goroutine's
	// thread waits in the kernel. Set it for sockets read or written in a
	// hot loop; the package documentation says why and what differs (a
	// thread per blocked call; read deadlines apply per call). Zero means
	// the runtime poller, as with the net package.
	Blocking bool

	// keepMulticastAll leaves IP_MULTICAST_ALL at the kernel default (1);
	// tests use it to show that the default would leak foreign groups.
	keepMulticastAll bool
}

func (o *Options) batchSize() int {
	switch {
	case o.BatchSize <= 0:
		return DefaultBatch
	case o.BatchSize > maxBatch:
		return maxBatch
	}
	return o.BatchSize
}
