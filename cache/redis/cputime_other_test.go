//go:build !unix

package redis

import "time"

// processCPU is unknown here: benchmarks report no CPU per key.
func processCPU() time.Duration { return 0 }
