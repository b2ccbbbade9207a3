package txidset

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePageSize is the transparent huge page size of x86-64 and arm64 (with
// 4 KiB base pages).
const hugePageSize = 2 << 20

// mapHugePages maps n+hugePageSize bytes so that an aligned run of n bytes
// fits, and asks for transparent huge pages on that run (honoured when
// /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise").
// The alignment slack stays mapped but is never touched, so it costs
// address space, not memory. A failed madvise (a kernel without THP) keeps
// the mapping with ordinary pages.
func mapHugePages(n int) (mem, mapping []byte, huge bool, err error) {
	mapping, err = unix.Mmap(-1, 0, n+hugePageSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil, false, fmt.Errorf("txidset: map tier-1 arena: %w", err)
	}
	base := uintptr(unsafe.Pointer(&mapping[0]))
	off := int(roundUp(base, hugePageSize) - base)
	mem = mapping[off : off+n : off+n]
	huge = unix.Madvise(mem, unix.MADV_HUGEPAGE) == nil
	prefault(mem)
	return mem, mapping, huge, nil
}

// prefault backs mem with memory now rather than at first touch: a fault
// on a huge-page region zeroes 2 MiB and may compact memory first, a stall
// of milliseconds that a receive loop must not take (it dropped frames in
// the bench runs). Without MADV_POPULATE_WRITE (Linux < 5.14) it writes
// one byte per page.
func prefault(mem []byte) {
	if unix.Madvise(mem, unix.MADV_POPULATE_WRITE) == nil {
		return
	}
	for i := 0; i < len(mem); i += unix.Getpagesize() {
		mem[i] = 0
	}
}

// unmapArena releases a mapping made by mapHugePages.
func unmapArena(mapping []byte) { _ = unix.Munmap(mapping) }
