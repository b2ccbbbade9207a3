package txidset

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A lock-free hit racing an insert that picks its victim must stay
// linearizable: A is held with expiry 10; CheckInsert(A, 9) and
// CheckInsert(N, 10) run at once on a one-shard set with room to spare. In
// either order A is held afterwards (a hit refreshes A to 19, so N takes a
// free entry; a miss re-inserts A), so Contains(A, 11) must hold. It failed
// about once in 100 trials when the writer chose its victim before making
// the sequence counter odd and touch did not re-check it after its CAS.
func TestTouchRacingVictimChoice(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two Ps to race")
	}
	trials := 30_000
	if raceEnabled || testing.Short() {
		trials = 3_000
	}
	a, n := id(1), id(2)
	for trial := range trials {
		l := mustLocal(t, 4, 1, 10*time.Nanosecond)
		l.CheckInsert(&a, 0)
		var ready atomic.Int32
		var wg sync.WaitGroup
		var hit bool
		wg.Add(2)
		go func() {
			defer wg.Done()
			ready.Add(1)
			for ready.Load() < 2 {
			}
			hit = l.CheckInsert(&a, 9)
		}()
		go func() {
			defer wg.Done()
			ready.Add(1)
			for ready.Load() < 2 {
			}
			l.CheckInsert(&n, 10)
		}()
		wg.Wait()
		if !l.Contains(&a, 11) {
			t.Fatalf("trial %d: CheckInsert(A) answered hit=%v, yet A is gone (Len %d)", trial, hit, l.Len())
		}
	}
}
