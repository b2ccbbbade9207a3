// Command ratio compares two pipelines A/B/A/B… under the same load; see
// bench/README.md and ratio -h.
package main

import (
	"os"

	"github.com/mcdedup/mcdedup/bench/internal/ratio"
)

func main() { os.Exit(ratio.Main(os.Args[1:], os.Stdout, os.Stderr)) }
