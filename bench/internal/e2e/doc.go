// Package e2e holds the end-to-end tests of the bench tools: it builds the
// loadgen, sink, relay and ratio binaries once and runs them as a user would
// (loadgen → relay → sink tap over IPv4 loopback multicast, flag errors,
// signals, the ratio runner), plus the IPv6 variant across network
// namespaces. It has no code of its own.
package e2e
