package udpio

import (
	"os"
	"runtime"
	"time"
)

// SpareP raises GOMAXPROCS to hot+1 when it is lower, so that the Go
// scheduler keeps one P idle while hot goroutines (one per blocking hot
// socket) sit in recvmmsg and sendmmsg. It never lowers GOMAXPROCS, and it
// leaves it alone when the operator set GOMAXPROCS in the environment. It
// returns GOMAXPROCS before and after.
//
// Why: a goroutine in a system call keeps its P, and the runtime's monitor
// thread takes that P away when the call has lasted ~20 µs and no other P
// is idle. A batched sendmmsg of 64 multicast datagrams lasts longer than
// that, so with every P busy in a hot loop the monitor wakes thousands of
// times a second, hands Ps between threads and moves the hot goroutine from
// thread to thread. With one P spare it does neither. Measured on one
// pinned core: the proxy forwarded 278,570 frames/s with GOMAXPROCS 1 and
// 333,676 with GOMAXPROCS 2 (same binary, same load).
func SpareP(hot int) (before, after int) {
	before = runtime.GOMAXPROCS(0)
	if _, pinned := os.LookupEnv("GOMAXPROCS"); pinned || hot < 1 || before > hot {
		return before, before
	}
	runtime.GOMAXPROCS(hot + 1)
	return before, hot + 1
}

// YieldGap is how often a hot loop calls Yielder.Tick's runtime.Gosched.
const YieldGap = time.Millisecond

// Yielder makes a hot loop's goroutine pass through the Go scheduler every
// YieldGap. The runtime's monitor treats a P whose goroutine has not been
// rescheduled for 10 ms as hogging it: it preempts the goroutine, or, when
// the goroutine sits in a system call at that moment (most of a busy
// recvmmsg/sendmmsg loop's time), hands the P to another thread, and after
// each such retake it polls every 20 µs again for a while. A loop that never
// blocks in the scheduler (blocking sockets) therefore costs thousands of
// monitor wake-ups a second; one Gosched a millisecond costs about a
// microsecond and removes them.
type Yielder struct{ next int64 }

// gosched is runtime.Gosched; tests count the calls.
var gosched = runtime.Gosched

// Tick yields when YieldGap has passed since the last yield; now is any
// monotonic nanosecond clock reading of the caller's.
func (y *Yielder) Tick(now int64) {
	if now < y.next {
		return
	}
	if y.next != 0 {
		gosched()
	}
	y.next = now + int64(YieldGap)
}
