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
