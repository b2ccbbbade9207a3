// Command loadgen sends BRC-124 frame traffic for benchmarks; see
// bench/README.md and loadgen -h.
package main

import (
	"os"

	"github.com/mcdedup/mcdedup/bench/internal/loadgen"
)

func main() { os.Exit(loadgen.Main(os.Args[1:], os.Stdout, os.Stderr)) }
