// Command relay is the bare unicast-to-multicast baseline of the benchmarks;
// see bench/README.md and relay -h.
package main

import (
	"os"

	"github.com/mcdedup/mcdedup/bench/internal/relay"
)

func main() { os.Exit(relay.Main(os.Args[1:], os.Stderr)) }
