package txidset

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

var errFake = errors.New("fake backend failure")

// fakeBackend is a cache.Backend without batch support: a map of key to
// expiry on an injectable clock, with failure injection. Wrap it in
// fakeBatcher for the Batcher capability.
type fakeBackend struct {
	clock func() time.Time

	mu   sync.Mutex
	keys map[string]time.Time     // guarded by mu; key → expiry
	vals map[string]string        // guarded by mu
	ttls map[string]time.Duration // guarded by mu; TTL of the last write

	down    atomic.Bool                       // every op fails, Healthy is false
	delay   atomic.Int64                      // ns each call waits (honouring ctx)
	failKey atomic.Pointer[func(string) bool] // per-op failure injection
	calls   atomic.Int64                      // single-key SetNX calls
	batches atomic.Int64                      // SetNXBatch calls
	sets    atomic.Int64                      // Set / SetBatch keys
	probes  atomic.Int64                      // Healthy calls
	closed  atomic.Bool
}

func newFake(clock func() time.Time) *fakeBackend {
	if clock == nil {
		clock = time.Now
	}
	return &fakeBackend{clock: clock, keys: map[string]time.Time{}, vals: map[string]string{}, ttls: map[string]time.Duration{}}
}

// wait applies the injected delay and outage.
func (f *fakeBackend) wait(ctx context.Context) error {
	if d := time.Duration(f.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if f.closed.Load() {
		return cache.ErrClosed
	}
	if f.down.Load() {
		return errFake
	}
	return ctx.Err()
}

func (f *fakeBackend) setNXLocked(key string, val []byte, ttl time.Duration) (bool, error) {
	if p := f.failKey.Load(); p != nil && (*p)(key) {
		return false, errFake
	}
	now := f.clock()
	if exp, ok := f.keys[key]; ok && now.Before(exp) {
		return false, nil
	}
	f.keys[key] = now.Add(ttl)
	f.vals[key] = string(val)
	f.ttls[key] = ttl
	return true, nil
}

func (f *fakeBackend) SetNX(ctx context.Context, key, val []byte, ttl time.Duration) (bool, error) {
	f.calls.Add(1)
	if err := f.wait(ctx); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.setNXLocked(string(key), val, ttl)
}

func (f *fakeBackend) Set(ctx context.Context, key, val []byte, ttl time.Duration) error {
	f.sets.Add(1)
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[string(key)] = f.clock().Add(ttl)
	f.vals[string(key)] = string(val)
	return nil
}

func (f *fakeBackend) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if exp, ok := f.keys[string(key)]; ok && f.clock().Before(exp) {
		return []byte(f.vals[string(key)]), nil
	}
	return nil, nil
}

func (f *fakeBackend) Del(ctx context.Context, key []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, string(key))
	return nil
}

func (f *fakeBackend) Healthy(ctx context.Context) bool {
	f.probes.Add(1)
	return !f.down.Load() && !f.closed.Load()
}

func (f *fakeBackend) Close() error {
	f.closed.Store(true)
	return nil
}

// has reports whether key is live.
func (f *fakeBackend) has(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.keys[key]
	return ok && f.clock().Before(exp)
}

// fakeBatcher adds cache.Batcher to a fakeBackend: one call, one round trip.
type fakeBatcher struct{ *fakeBackend }

func (f fakeBatcher) SetNXBatch(ctx context.Context, ops []cache.Op) error {
	f.batches.Add(1)
	if err := f.wait(ctx); err != nil {
		for i := range ops {
			ops[i].Created, ops[i].Err = false, err
		}
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range ops {
		ops[i].Created, ops[i].Err = f.setNXLocked(string(ops[i].Key), ops[i].Val, ops[i].TTL)
	}
	return nil
}

func (f fakeBatcher) SetBatch(ctx context.Context, ops []cache.Op) error {
	return errors.New("fakeBatcher: SetBatch not used by txidset")
}

func (f fakeBatcher) GetBatch(ctx context.Context, ops []cache.Op) error {
	return errors.New("fakeBatcher: GetBatch not used by txidset")
}

// fakeClock is a settable clock for tests.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
