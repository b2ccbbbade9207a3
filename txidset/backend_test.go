package txidset

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// fakeKind is a cache backend kind registered by these tests so that
// BackendConfig can be exercised without a server: fakeOpener decides
// whether cache.Open fails.
const fakeKind = "txidset-test-fake"

var fakeOpener struct {
	mu    sync.Mutex
	fail  bool         // guarded by mu
	b     *fakeBackend // guarded by mu; returned on success
	cfg   cache.Config // guarded by mu; last config seen
	opens int          // guarded by mu; attempts
}

func init() {
	cache.Register(fakeKind, func(cfg cache.Config) (cache.Backend, error) {
		fakeOpener.mu.Lock()
		defer fakeOpener.mu.Unlock()
		fakeOpener.opens++
		fakeOpener.cfg = cfg
		if fakeOpener.fail {
			return nil, errFake
		}
		return fakeBatcher{fakeOpener.b}, nil
	})
}

func setFakeOpener(fail bool, b *fakeBackend) {
	fakeOpener.mu.Lock()
	defer fakeOpener.mu.Unlock()
	fakeOpener.fail, fakeOpener.b, fakeOpener.opens = fail, b, 0
}

func fakeOpens() int {
	fakeOpener.mu.Lock()
	defer fakeOpener.mu.Unlock()
	return fakeOpener.opens
}

// Construction never fails because the backend is down: the Set runs tier 1
// only (misses fail open), keeps trying in the background, and switches to
// the backend once it opens. Close closes the backend it opened.
func TestDegradedStart(t *testing.T) {
	f := newFake(nil)
	setFakeOpener(true, f)
	s, reg := newTestSet(t, Options{Capacity: 1000, Prefix: prefix,
		BackendConfig: &cache.Config{Backend: fakeKind, OpTimeout: 77 * time.Millisecond},
		ReconnectMin:  5 * time.Millisecond, ReconnectMax: 10 * time.Millisecond})
	if s.Healthy() || s.State() != StateDegraded || metric(t, reg, "backend_up") != 0 {
		t.Fatalf("Healthy %v State %q before the backend opened", s.Healthy(), s.State())
	}
	if s.opts.OpTimeout != 77*time.Millisecond {
		t.Fatalf("OpTimeout %v not taken from BackendConfig", s.opts.OpTimeout)
	}
	if got := claim(t, s, 1, 1); !slices.Equal(got, []Result{FailOpen, LocalHit}) {
		t.Fatalf("degraded results %v", got)
	}
	eventually(t, time.Second, "open retries", func() bool { return fakeOpens() >= 3 })

	setFakeOpener(false, f)
	eventually(t, 2*time.Second, "backend open", s.Healthy)
	if got := claim(t, s, 1, 2); !slices.Equal(got, []Result{LocalHit, Won}) || !f.has(key(prefix, 2)) {
		t.Fatalf("results %v after the backend opened", got)
	}
	if s.State() != StateOK || metric(t, reg, "backend_up") != 1 {
		t.Fatalf("State %q", s.State())
	}
	if err := s.Close(); err != nil || !f.closed.Load() {
		t.Fatalf("Close = %v, backend closed %v", err, f.closed.Load())
	}
	if got := claim(t, s, 3); got[0] != FailOpen {
		t.Fatalf("claim after Close = %v", got[0])
	}
}

// Close stops a background open that never succeeds.
func TestCloseStopsOpening(t *testing.T) {
	setFakeOpener(true, nil)
	s, err := New(Options{Capacity: 10, BackendConfig: &cache.Config{Backend: fakeKind},
		ReconnectMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "first open", func() bool { return fakeOpens() >= 1 })
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// BackendConfig "none" (or empty) means tier 1 only, healthy by design.
func TestBackendNone(t *testing.T) {
	for _, kind := range []string{"", cache.BackendNone} {
		s, _ := newTestSet(t, Options{Capacity: 10, BackendConfig: &cache.Config{Backend: kind}})
		if s.State() != StateLocalOnly || !s.Healthy() || claim(t, s, 1)[0] != Won {
			t.Fatalf("%q: State %q", kind, s.State())
		}
	}
}

// A caller-owned Backend is not closed by Close.
func TestCloseLeavesCallerBackend(t *testing.T) {
	f := newFake(nil)
	s, err := New(Options{Capacity: 10, Backend: f})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if f.closed.Load() {
		t.Fatal("Close closed a backend it does not own")
	}
}
