package udpio

import (
	"os"
	"runtime"
	"testing"
)

func TestSpareP(t *testing.T) {
	saved := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(saved) })
	runtime.GOMAXPROCS(2)
	t.Setenv("GOMAXPROCS", "") // restored after the test; set or unset per case below
	for _, tc := range []struct {
		hot        int
		pinned     bool
		wantBefore int
		wantAfter  int
	}{
		{hot: 2, wantBefore: 2, wantAfter: 3},               // every P hot: one spare added
		{hot: 1, wantBefore: 3, wantAfter: 3},               // already spare: unchanged
		{hot: 5, pinned: true, wantBefore: 3, wantAfter: 3}, // operator's GOMAXPROCS wins
		{hot: 0, wantBefore: 3, wantAfter: 3},               // nothing hot
		{hot: 4, wantBefore: 3, wantAfter: 5},               // raised, never lowered
		{hot: 1, wantBefore: 5, wantAfter: 5},
	} {
		if tc.pinned {
			os.Setenv("GOMAXPROCS", "3")
		} else {
			os.Unsetenv("GOMAXPROCS")
		}
		before, after := SpareP(tc.hot)
		if before != tc.wantBefore || after != tc.wantAfter || runtime.GOMAXPROCS(0) != tc.wantAfter {
			t.Fatalf("SpareP(%d, %v) = %d, %d (GOMAXPROCS now %d), want %d, %d",
				tc.hot, tc.pinned, before, after, runtime.GOMAXPROCS(0), tc.wantBefore, tc.wantAfter)
		}
	}
}

func TestYielderYieldsOncePerGap(t *testing.T) {
	calls := 0
	gosched = func() { calls++ }
	defer func() { gosched = runtime.Gosched }()

	gap := int64(YieldGap)
	var y Yielder
	for _, tc := range []struct {
		now   int64
		calls int
	}{
		{now: 5 * gap, calls: 0},         // first reading: arms the deadline only
		{now: 5*gap + gap/2, calls: 0},   // within the gap
		{now: 6*gap - 1, calls: 0},       // just before it ends
		{now: 6 * gap, calls: 1},         // gap passed: yields, re-arms
		{now: 6*gap + gap - 1, calls: 1}, // within the new gap
		{now: 20 * gap, calls: 2},        // a long pause yields once, not once per missed gap
		{now: 20*gap + 1, calls: 2},
	} {
		y.Tick(tc.now)
		if calls != tc.calls {
			t.Fatalf("after Tick(%d): %d yields, want %d", tc.now, calls, tc.calls)
		}
	}
}
