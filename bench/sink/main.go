// Command sink receives and counts benchmark frames; see bench/README.md
// and sink -h.
package main

import (
	"os"

	"github.com/mcdedup/mcdedup/bench/internal/sink"
)

func main() { os.Exit(sink.Main(os.Args[1:], os.Stdout, os.Stderr)) }
