// Package netns builds throwaway network topologies for system tests:
// Linux network namespaces with unique names, veth links between them with
// IPv4 and IPv6 addresses, random loss injected with nftables, and a way to
// run Go code (and the sockets it opens) inside a namespace. Everything it
// creates is deleted by t.Cleanup, and namespaces that killed test runs left
// behind are swept the next time a test creates one.
//
// It needs root and the ip command (nft for AddLoss); when they are missing,
// tests skip through internal/systest, or fail under REQUIRE_SYSTEM_TESTS=1.
package netns
