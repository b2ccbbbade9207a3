package cachetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// testHealthy: a working backend reports healthy.
func testHealthy(t *testing.T, sc *scope) {
	if !sc.b.Healthy(sc.ctx) {
		t.Fatal("Healthy = false on a working backend")
	}
}

// testCanceledContext: a done context fails every operation promptly with
// the context's error, and the failed writes have no effect.
func testCanceledContext(t *testing.T, sc *scope) {
	ctx, cancel := context.WithCancel(sc.ctx)
	cancel()
	k := sc.key("k")
	returnsWithin(t, "operations with a canceled context", func() {
		_, err := sc.b.SetNX(ctx, k, []byte("v"), longTTL)
		wantErrIs(t, "SetNX", err, context.Canceled)
		wantErrIs(t, "Set", sc.b.Set(ctx, k, []byte("v"), longTTL), context.Canceled)
		v, err := sc.b.Get(ctx, k)
		wantErrIs(t, "Get", err, context.Canceled)
		if v != nil {
			t.Errorf("Get with a canceled context returned a value %q", v)
		}
		wantErrIs(t, "Del", sc.b.Del(ctx, k), context.Canceled)
		if bb, ok := sc.b.(cache.Batcher); ok {
			ops := []cache.Op{{Key: k, Val: []byte("v"), TTL: longTTL}, {Key: k, Val: []byte("w")}}
			wantBatchErr(t, "SetNXBatch", bb.SetNXBatch(ctx, ops), ops, context.Canceled)
			wantBatchErr(t, "SetBatch", bb.SetBatch(ctx, ops), ops, context.Canceled)
			wantBatchErr(t, "GetBatch", bb.GetBatch(ctx, ops), ops, context.Canceled)
		}
		if l, ok := sc.b.(cache.Lister); ok {
			_, err := l.List(ctx, cache.ListOptions{Pattern: sc.prefix})
			wantErrIs(t, "List", err, context.Canceled)
		}
		past, cancel := context.WithDeadline(sc.ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, err = sc.b.Get(past, k)
		wantErrIs(t, "Get with an expired deadline", err, context.DeadlineExceeded)
	})
	if t.Failed() {
		return
	}
	if !sc.setNX(k, []byte("real"), longTTL) {
		t.Fatal("a write with a canceled context took effect: SetNX afterwards = false")
	}
	sc.wantVal(k, []byte("real"))
}

// testClose: after Close every operation fails with ErrClosed (no hang, no
// panic), Healthy is false, and Close again is safe.
func testClose(t *testing.T, sc *scope) {
	k := sc.key("k")
	sc.set(k, []byte("v"), longTTL)
	returnsWithin(t, "Close", func() {
		if err := sc.b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	returnsWithin(t, "operations after Close", func() {
		_, err := sc.b.SetNX(sc.ctx, k, []byte("v"), longTTL)
		wantErrIs(t, "SetNX after Close", err, cache.ErrClosed)
		wantErrIs(t, "Set after Close", sc.b.Set(sc.ctx, k, []byte("v"), longTTL), cache.ErrClosed)
		v, err := sc.b.Get(sc.ctx, k)
		wantErrIs(t, "Get after Close", err, cache.ErrClosed)
		if v != nil {
			t.Errorf("Get after Close returned a value %q", v)
		}
		wantErrIs(t, "Del after Close", sc.b.Del(sc.ctx, k), cache.ErrClosed)
		if bb, ok := sc.b.(cache.Batcher); ok {
			ops := []cache.Op{{Key: k, Val: []byte("v")}, {Key: k}}
			wantBatchErr(t, "SetNXBatch after Close", bb.SetNXBatch(sc.ctx, ops), ops, cache.ErrClosed)
			wantBatchErr(t, "SetBatch after Close", bb.SetBatch(sc.ctx, ops), ops, cache.ErrClosed)
			wantBatchErr(t, "GetBatch after Close", bb.GetBatch(sc.ctx, ops), ops, cache.ErrClosed)
		}
		if l, ok := sc.b.(cache.Lister); ok {
			_, err := l.List(sc.ctx, cache.ListOptions{Pattern: sc.prefix})
			wantErrIs(t, "List after Close", err, cache.ErrClosed)
		}
		if sc.b.Healthy(sc.ctx) {
			t.Error("Healthy after Close = true")
		}
		// Close twice: no panic; nil or ErrClosed.
		if err := sc.b.Close(); err != nil && !errors.Is(err, cache.ErrClosed) {
			t.Errorf("second Close: %v", err)
		}
	})
}

// testCloseConcurrent: Close while other goroutines are mid-operation does
// not panic, and every goroutine sees an error soon after.
func testCloseConcurrent(t *testing.T, sc *scope) {
	const workers = 8
	var (
		wg      sync.WaitGroup
		started sync.WaitGroup
	)
	started.Add(workers)
	for w := range workers {
		wg.Go(func() {
			k := sc.key(string(rune('a' + w)))
			first := true
			for i := 0; ; i++ {
				var err error
				switch i % 3 {
				case 0:
					_, err = sc.b.SetNX(sc.ctx, k, []byte("v"), longTTL)
				case 1:
					_, err = sc.b.Get(sc.ctx, k)
				default:
					err = sc.b.Del(sc.ctx, k)
				}
				if first {
					started.Done()
					first = false
				}
				if err != nil {
					return // closed (or the suite's deadline passed)
				}
			}
		})
	}
	started.Wait()
	returnsWithin(t, "Close with operations in flight, and the operations", func() {
		if err := sc.b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
}

// wantBatchErr: a batch that failed as a whole returns an error and sets
// every Op's Err, both wrapping target.
func wantBatchErr(t *testing.T, what string, err error, ops []cache.Op, target error) {
	t.Helper()
	wantErrIs(t, what, err, target)
	for i := range ops {
		wantErrIs(t, what+" op "+string(rune('0'+i)), ops[i].Err, target)
		ops[i].Err = nil
	}
}
