package txidset

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// Backend lifecycle. One maintainer goroutine per Set owns the transitions
// to "up": it opens a BackendConfig with capped exponential backoff, and
// after the claim path marks the backend down it probes Healthy with the
// same backoff until the backend answers again. Claims never wait for it:
// while the backend is not active they fail open at once.

// setNX runs a create-only write of every op in one round trip, or as a
// loop of SetNX when the backend has no Batcher. After ctx ends the loop
// stops calling the backend and fails the remaining ops.
func (r *backendRef) setNX(ctx context.Context, ops []cache.Op) error {
	if r.batch != nil {
		return r.batch.SetNXBatch(ctx, ops)
	}
	for i := range ops {
		op := &ops[i]
		if err := ctx.Err(); err != nil {
			op.Created, op.Err = false, err
			continue
		}
		op.Created, op.Err = r.b.SetNX(ctx, op.Key, op.Val, op.TTL)
	}
	return nil
}

// noteRoundTrip feeds the health tracker: Failures consecutive failed round
// trips mark the backend down. A round trip cut short by the caller's own
// ctx says nothing about the backend and is ignored.
func (s *Set) noteRoundTrip(ctx context.Context, ref *backendRef, err error) {
	switch {
	case err == nil:
		if s.fails.Load() != 0 {
			s.fails.Store(0)
		}
	case ctx.Err() != nil:
	case s.fails.Add(1) >= int32(s.opts.Failures):
		s.markDown(ref, err)
	}
}

// markDown stops claims from using ref and wakes the maintainer to probe it.
func (s *Set) markDown(ref *backendRef, err error) {
	if !s.active.CompareAndSwap(ref, nil) {
		return // already down, or replaced
	}
	s.m.backendUp.Set(0)
	s.opts.Logger.Warn("txidset: backend down, claims fail open until it recovers",
		"prefix", s.opts.Prefix, "failures", s.fails.Load(), "err", err)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// setUp makes ref the active backend.
func (s *Set) setUp(ref *backendRef) {
	s.fails.Store(0)
	s.active.Store(ref)
	s.m.backendUp.Set(1)
}

// maintain is the maintainer goroutine. ref is nil when the backend has yet
// to be opened from BackendConfig.
func (s *Set) maintain(ref *backendRef) {
	defer s.wg.Done()
	if ref == nil {
		var ok bool
		if ref, ok = s.openLoop(); !ok {
			return // closed
		}
	}
	for {
		select {
		case <-s.closed:
			return
		case <-s.kick:
		}
		if !s.probeLoop(ref) {
			return
		}
	}
}

// openLoop opens BackendConfig until it succeeds (the backend becomes
// active and owned) or the Set closes (false).
func (s *Set) openLoop() (*backendRef, bool) {
	cfg := *s.opts.BackendConfig
	var lastErr error
	return retry(s, func() (*backendRef, bool) {
		b, err := cache.Open(cfg)
		if err != nil {
			if lastErr == nil || lastErr.Error() != err.Error() {
				s.opts.Logger.Warn("txidset: backend unavailable, running degraded (tier 1 only)",
					"backend", cfg.Backend, "prefix", s.opts.Prefix, "err", err)
			}
			lastErr = err
			return nil, false
		}
		ref := newBackendRef(b)
		ref.bound = cfg.WithDefaults().OpTimeout
		s.owned = ref
		s.setUp(ref)
		s.opts.Logger.Info("txidset: backend open", "backend", cfg.Backend, "prefix", s.opts.Prefix,
			"degraded_before", lastErr != nil)
		return ref, true
	})
}

// probeLoop checks a down backend's health until it answers (true; the
// backend is active again) or the Set closes (false).
func (s *Set) probeLoop(ref *backendRef) bool {
	timeout := max(s.opts.OpTimeout, cache.DefaultDialTimeout)
	_, ok := retry(s, func() (struct{}, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if !ref.b.Healthy(ctx) {
			return struct{}{}, false
		}
		s.setUp(ref)
		s.opts.Logger.Info("txidset: backend up again", "prefix", s.opts.Prefix)
		return struct{}{}, true
	})
	return ok
}

// retry calls try until it succeeds, sleeping between attempts with
// exponential backoff from ReconnectMin to ReconnectMax (plus up to 20%
// jitter so a fleet does not reconnect in step). It returns try's value and
// true, or false once the Set closes.
func retry[T any](s *Set, try func() (T, bool)) (T, bool) {
	delay := s.opts.ReconnectMin
	for {
		if v, ok := try(); ok {
			return v, true
		}
		t := time.NewTimer(delay + rand.N(delay/5+1))
		select {
		case <-s.closed:
			t.Stop()
			var zero T
			return zero, false
		case <-t.C:
		}
		delay = min(2*delay, s.opts.ReconnectMax)
	}
}
