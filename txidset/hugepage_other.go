//go:build !linux

package txidset

import (
	"errors"
	"fmt"
)

// hugePageSize is the granularity arenas are sized in.
const hugePageSize = 2 << 20

// mapHugePages is unsupported off Linux: tier 1 uses the Go heap.
func mapHugePages(int) (mem, mapping []byte, huge bool, err error) {
	return nil, nil, false, fmt.Errorf("txidset: map tier-1 arena: %w", errors.ErrUnsupported)
}

// unmapArena is never called off Linux.
func unmapArena([]byte) {}
