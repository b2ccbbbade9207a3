// Package udpio is the one package of mcdedup that makes socket system calls.
// Everything else (the proxy, listener and retry-endpoint hot loops) depends on
// the BatchConn interface and moves datagrams in caller-owned batches.
//
// It owns:
//   - batched I/O: recvmmsg/sendmmsg over per-Conn preallocated headers, with
//     zero allocations per call in steady state, probed once per process and
//     falling back to one-datagram recvmsg/sendmsg where the batch calls are
//     missing (old kernels, seccomp sandboxes);
//   - socket options, applied before bind (SO_REUSEPORT, forced or plain
//     buffer sizes, multicast interface, loop, hops, IP_MULTICAST_ALL=0,
//     SO_RXQ_OVFL), by the same code in both descriptor modes;
//   - multicast membership, any-source and source-specific, IPv4 and IPv6;
//   - the kernel drop counter (SO_RXQ_OVFL), exposed as Conn.KernelDrops.
//
// # Descriptor modes
//
// By default a Conn is a non-blocking socket registered with the Go
// runtime's network poller (net.ListenConfig, syscall.RawConn), like any
// net.Conn. With Options.Blocking it is a blocking socket the poller never
// sees: ReadBatch calls recvmmsg with MSG_WAITFORONE and WriteBatch sendmmsg
// directly, and the goroutine's thread waits in the kernel (the runtime
// hands its P to other goroutines meanwhile).
//
// Hot sockets should be blocking. Once any goroutine of the process waits
// in the poller (an HTTP server's accept, a backend connection) or a timer
// is pending, idle Ps sleep in epoll_wait, and every datagram arriving on a
// poller-registered socket, and every send buffer freed, raises an
// edge-triggered event that wakes one of them for nothing: measured on the
// proxy under load, 24,000 to 48,000 wake-ups a second, and about a fifth
// more throughput once its sockets were blocking. A blocking socket raises
// no epoll events at all.
//
// What differs in blocking mode: each call blocked in the kernel holds an
// OS thread (so use it for a few busy sockets, not thousands of idle ones);
// a read deadline is applied per ReadBatch call through SO_RCVTIMEO, so
// SetReadDeadline does not interrupt a call already blocked (Close does);
// Close shuts the socket down, which wakes blocked calls at once, and closes
// the descriptor only after the calls in flight have returned, so that its
// number cannot be reused under them.
//
// A goroutine blocked in a long system call keeps its P unless the
// runtime's monitor takes it, which it does after ~20 µs when no other P is
// idle; a process whose every P runs a hot loop then pays for constant P
// hand-offs and thread switches. SpareP keeps one P spare; binaries call it
// with their hot socket count.
//
// Fake is an in-memory BatchConn for the tests of other packages.
//
// Only Linux is supported; on other systems Listen returns
// errors.ErrUnsupported so that the module still builds and vets.
package udpio
