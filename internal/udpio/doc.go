// Package udpio is the one package of mcdedup that makes socket system calls.
// Everything else (the proxy, listener and retry-endpoint hot loops) depends on
// the BatchConn interface and moves datagrams in caller-owned batches.
//
// It owns:
//   - batched I/O: recvmmsg/sendmmsg over per-Conn preallocated headers, with
//     zero allocations per call in steady state, probed once per process and
//     falling back to one-datagram recvmsg/sendmsg where the batch calls are
//     missing (old kernels, seccomp sandboxes);
//   - socket options, applied before bind through net.ListenConfig.Control
//     (SO_REUSEPORT, forced or plain buffer sizes, multicast interface, loop,
//     hops, IP_MULTICAST_ALL=0, SO_RXQ_OVFL);
//   - multicast membership, any-source and source-specific, IPv4 and IPv6;
//   - the kernel drop counter (SO_RXQ_OVFL), exposed as Conn.KernelDrops.
//
// Fake is an in-memory BatchConn for the tests of other packages.
//
// Only Linux is supported; on other systems Listen returns
// errors.ErrUnsupported so that the module still builds and vets.
package udpio
