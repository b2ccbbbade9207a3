package txidset

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// smapsOf returns the /proc/self/smaps fields (in kB) of the mapping that
// contains addr, and whether there is one.
func smapsOf(t *testing.T, addr uintptr) (map[string]int, bool) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	var fields map[string]int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		tok := strings.Fields(sc.Text())
		if len(tok) < 2 {
			continue
		}
		if !strings.HasSuffix(tok[0], ":") { // "lo-hi perms offset dev inode [path]"
			if fields != nil {
				return fields, true
			}
			var lo, hi uintptr
			if _, err := fmt.Sscanf(tok[0], "%x-%x", &lo, &hi); err == nil && lo <= addr && addr < hi {
				fields = map[string]int{}
			}
			continue
		}
		if v, err := strconv.Atoi(tok[1]); err == nil && fields != nil {
			fields[strings.TrimSuffix(tok[0], ":")] = v
		}
	}
	return fields, fields != nil
}

// thpMode is the bracketed word of the kernel's THP setting, "" if unknown.
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	s := string(b)
	if i, j := strings.Index(s, "["), strings.Index(s, "]"); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return ""
}

// A filled 1,048,576-entry set is backed by transparent huge pages where
// the kernel allows them (AnonHugePages in /proc/self/smaps).
func TestArenaHugePages(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("race builds keep tier 1 on the Go heap; -short skips the 62 MiB set")
	}
	if mode := thpMode(); mode != "always" && mode != "madvise" {
		t.Skipf("transparent huge pages are %q", mode)
	}
	l := mustLocal(t, 1<<20, 0, time.Hour)
	for i := range uint64(1 << 20) {
		a := id(i)
		l.CheckInsert(&a, int64(i))
	}
	fields, ok := smapsOf(t, uintptr(unsafe.Pointer(&l.shards[0].entries[0])))
	if !ok {
		t.Fatal("arena not found in /proc/self/smaps")
	}
	t.Logf("arena %d MiB, huge advice %v: Rss %d kB, AnonHugePages %d kB",
		l.arena.bytes>>20, l.arena.huge, fields["Rss"], fields["AnonHugePages"])
	if !l.arena.huge {
		t.Fatal("MADV_HUGEPAGE refused with THP enabled")
	}
	if fields["AnonHugePages"] == 0 {
		t.Skip("the kernel had no free huge pages (fragmented memory?)")
	}
	runtime.KeepAlive(l)
}

// Once a Local is unreachable, its arena is unmapped. The release is
// watched through releaseArena rather than /proc/self/smaps, where a later
// mapping may take the freed addresses.
func TestArenaUnmappedWhenUnreachable(t *testing.T) {
	if raceEnabled {
		t.Skip("race builds keep tier 1 on the Go heap")
	}
	released := make(chan uintptr, 1)
	saved := releaseArena
	t.Cleanup(func() { releaseArena = saved })
	releaseArena = func(mapping []byte) {
		start := uintptr(unsafe.Pointer(&mapping[0]))
		saved(mapping)
		released <- start
	}
	var lo, hi uintptr
	func() {
		l := mustLocal(t, arenaCap, 0, time.Hour)
		a := id(1)
		l.CheckInsert(&a, 1)
		lo = uintptr(unsafe.Pointer(&l.shards[0].entries[0]))
		hi = lo + uintptr(l.arena.bytes)
		if _, ok := smapsOf(t, lo); !ok {
			t.Fatal("arena not mapped")
		}
	}()
	releaseArena = saved // Locals made from here on are not watched
	deadline := time.After(10 * time.Second)
	for {
		runtime.GC()
		select {
		case start := <-released:
			if start > lo || start+hugePageSize+uintptr(hi-lo) < hi {
				t.Fatalf("released mapping at %#x does not hold the arena [%#x, %#x)", start, lo, hi)
			}
			return
		case <-deadline:
			t.Fatal("arena not released 10 s after its Local became unreachable")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
