package udpio

import "errors"

// ErrAddressFamily is reported for a destination the socket cannot reach:
// an IPv6 address on an IPv4 socket.
var ErrAddressFamily = errors.New("address family does not match the socket")

// ErrMembershipLimit is wrapped by a join that the kernel refused for a
// per-socket limit (ENOBUFS, or ENOMEM for IPv6); the error names the sysctl.
//
// Kernel limits on joins (Linux, all per network namespace): an IPv4 socket
// may join at most net.ipv4.igmp_max_memberships groups (default 20) and
// filter at most net.ipv4.igmp_max_msf sources per group (default 10); IPv6
// has no per-socket group count, but net.ipv6.mld_max_msf bounds the sources
// per group (default 64). Every membership of either family is also charged
// to the socket's option memory, bounded by net.core.optmem_max (128 KiB by
// default on recent kernels, 20 KiB on older ones): about 48 bytes per IPv4 group and
// 56 per IPv6 group, so one socket joining all 4096 shard groups plus the
// control groups needs igmp_max_memberships ≥ 4100 (IPv4) and optmem_max of
// at least 256 KiB (measured on Linux 6.18: 2730 IPv4 or 2340 IPv6 groups fit
// in 128 KiB).
var ErrMembershipLimit = errors.New("per-socket multicast membership limit reached")
