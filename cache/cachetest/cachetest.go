// Package cachetest is the conformance suite every cache.Backend must pass.
// Each backend package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		cachetest.Run(t, cachetest.Harness{
//			New: func(t *testing.T) cache.Backend { return memory.New(memory.Options{}) },
//		})
//	}
//
// The suite checks the contracts documented in package cache: the SetNX race
// (exactly one winner), TTL expiry and "no expiry", Get miss as (nil, nil),
// value isolation (a backend never retains or hands out shared buffers),
// binary safety, the optional Batcher and Lister capabilities (skipped with a
// message when absent), Healthy, Close and context cancellation.
//
// Every subtest writes keys under a random per-run namespace, so several
// instances, processes or test runs may share one server, and deletes the keys
// it wrote when it ends.
package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// Harness describes the backend under test.
type Harness struct {
	// New returns a new Backend instance on each call; instances may talk to
	// the same server as earlier ones. The suite closes every instance it
	// gets (some subtests close theirs early and check the behaviour after
	// Close). New calls t.Fatal or t.Skip itself when it cannot build one.
	New func(t *testing.T) cache.Backend
	// TTLGranularity is the backend's TTL resolution: positive TTLs are
	// rounded up to a multiple of it and a key may expire up to one
	// granularity early. 0 means 1 ms (memory, redis); aerospike uses 1 s.
	TTLGranularity time.Duration
}

// Limits of the waits in the suite: an operation that does not return within
// opWait is reported as hung.
const (
	opWait     = 10 * time.Second
	expirySlop = 2 * time.Second // allowed lateness of an expiry
	longTTL    = 10 * time.Minute
)

// Run runs the conformance suite against h as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("cachetest: Harness.New is nil")
	}
	if h.TTLGranularity <= 0 {
		h.TTLGranularity = time.Millisecond
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	s := &suite{h: h, ns: "cachetest-" + hex.EncodeToString(raw[:]) + ":"}

	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, sc *scope)
	}{
		{"SetNX", testSetNX},
		{"SetNXRace", testSetNXRace},
		{"ConcurrentDistinctKeys", testConcurrentDistinctKeys},
		{"SetOverwrite", testSetOverwrite},
		{"GetMiss", testGetMiss},
		{"Del", testDel},
		{"TTLExpiry", testTTLExpiry},
		{"NoExpiry", testNoExpiry},
		{"ValueIsolation", testValueIsolation},
		{"KeyIsolation", testKeyIsolation},
		{"BinarySafe", testBinarySafe},
		{"EmptyValue", testEmptyValue},
		{"LargeValue", testLargeValue},
		{"Batch", testBatch},
		{"List", testList},
		{"Healthy", testHealthy},
		{"CanceledContext", testCanceledContext},
		{"Close", testClose},
		{"CloseConcurrent", testCloseConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s.scope(t, tc.name)) })
	}
}

// suite is one run of the conformance suite.
type suite struct {
	h  Harness
	ns string // random per-run key namespace
}

// scope is one subtest's backend, context and key namespace.
type scope struct {
	t      *testing.T
	s      *suite
	b      cache.Backend
	ctx    context.Context
	prefix string // s.ns + subtest name + ":"

	mu   sync.Mutex // guards keys
	keys [][]byte   // keys to delete when the subtest ends
}

// scope builds the scope of subtest t: a fresh backend instance closed at the
// end, after the keys the subtest wrote are deleted.
func (s *suite) scope(t *testing.T, name string) *scope {
	t.Helper()
	b := s.h.New(t)
	if b == nil {
		t.Fatal("cachetest: Harness.New returned nil")
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), opWait)
	t.Cleanup(cancel)
	sc := &scope{t: t, s: s, b: b, ctx: ctx, prefix: s.ns + name + ":"}
	t.Cleanup(sc.deleteKeys)
	return sc
}

// deleteKeys removes every key the subtest wrote, best effort.
func (sc *scope) deleteKeys() {
	ctx, cancel := context.WithTimeout(context.Background(), opWait)
	defer cancel()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, k := range sc.keys {
		if err := sc.b.Del(ctx, k); err != nil {
			return // closed by the subtest, or the server went away
		}
	}
}

// key returns the namespaced key for name and records it for deletion.
func (sc *scope) key(name string) []byte { return sc.rawKey([]byte(name)) }

// rawKey is key for a binary name.
func (sc *scope) rawKey(name []byte) []byte { return sc.track(append([]byte(sc.prefix), name...)) }

// track records k, a key in the run's namespace, for deletion and returns it.
func (sc *scope) track(k []byte) []byte {
	sc.mu.Lock()
	sc.keys = append(sc.keys, bytes.Clone(k))
	sc.mu.Unlock()
	return k
}

// gran is the backend's TTL granularity.
func (sc *scope) gran() time.Duration { return sc.s.h.TTLGranularity }

// shortTTL is a TTL short enough to wait for and long enough that a key
// written with it is certainly present for a while: at least 100 ms and two
// granularities, as a multiple of the granularity.
func (sc *scope) shortTTL() time.Duration {
	g := sc.gran()
	d := max(100*time.Millisecond, 2*g)
	return (d + g - 1) / g * g
}

func (sc *scope) setNX(key, val []byte, ttl time.Duration) bool {
	sc.t.Helper()
	ok, err := sc.b.SetNX(sc.ctx, key, val, ttl)
	if err != nil {
		sc.t.Fatalf("SetNX(%q): %v", key, err)
	}
	return ok
}

func (sc *scope) set(key, val []byte, ttl time.Duration) {
	sc.t.Helper()
	if err := sc.b.Set(sc.ctx, key, val, ttl); err != nil {
		sc.t.Fatalf("Set(%q): %v", key, err)
	}
}

func (sc *scope) get(key []byte) []byte {
	sc.t.Helper()
	v, err := sc.b.Get(sc.ctx, key)
	if err != nil {
		sc.t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func (sc *scope) del(key []byte) {
	sc.t.Helper()
	if err := sc.b.Del(sc.ctx, key); err != nil {
		sc.t.Fatalf("Del(%q): %v", key, err)
	}
}

// wantVal fails unless key holds want (non-nil, even when empty).
func (sc *scope) wantVal(key, want []byte) {
	sc.t.Helper()
	got := sc.get(key)
	if got == nil {
		sc.t.Fatalf("Get(%q) = miss, want %q", key, want)
	}
	if !bytes.Equal(got, want) {
		sc.t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantMiss fails unless key is absent: Get returns (nil, nil).
func (sc *scope) wantMiss(key []byte) {
	sc.t.Helper()
	if got := sc.get(key); got != nil {
		sc.t.Fatalf("Get(%q) = %q, want miss (nil)", key, got)
	}
}

// waitGone polls key until it is absent, failing after deadline.
func (sc *scope) waitGone(key []byte, deadline time.Time) {
	sc.t.Helper()
	for {
		v := sc.get(key)
		if v == nil {
			return
		}
		if time.Now().After(deadline) {
			sc.t.Fatalf("key %q still present (%q) %v after its expiry was due", key, v, expirySlop)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// returnsWithin runs op and fails the test when it does not return within
// opWait (a hung backend).
func returnsWithin(t *testing.T, what string, op func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		op()
	}()
	select {
	case <-done:
	case <-time.After(opWait):
		t.Fatalf("%s did not return within %v", what, opWait)
	}
}

// wantErrIs fails unless errors.Is(err, target).
func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want one wrapping %v", what, err, target)
	}
}

// vals returns n distinct values "prefix-i".
func vals(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return out
}
