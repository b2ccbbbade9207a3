package cachetest_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/cachetest"
)

// The suite is run against the real backends by their own packages. Here it
// is run against a small reference backend with one defect planted at a time,
// in a child process, to show that it catches each defect in the subtest
// meant to.
const brokenEnv = "CACHETEST_BROKEN"

func TestSuiteCatchesDefects(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	cases := []struct {
		defect   string
		failures []string // subtests that must fail; none = the suite passes
	}{
		{"none", nil},
		{"no-copy", []string{"ValueIsolation"}},
		{"racy-setnx", []string{"SetNXRace"}},
		{"empty-miss", []string{"GetMiss"}},
		{"no-ttl", []string{"TTLExpiry"}},
		{"lost-setnx-extends-ttl", []string{"TTLExpiry"}},
		{"close-noop", []string{"Close"}},
		{"ignore-ctx", []string{"CanceledContext"}},
		{"nil-empty", []string{"EmptyValue"}},
	}
	// The children mostly wait on TTLs: run them all at once, each defect
	// only through the subtests that must catch it.
	type result struct {
		out []byte
		err error
	}
	results := make([]result, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		wg.Go(func() {
			run := "^TestReferenceBackend$" // the whole suite for the correct backend
			if len(tc.failures) > 0 {
				run += "/^(" + strings.Join(tc.failures, "|") + ")$"
			}
			cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+tc.defect)
			results[i].out, results[i].err = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i, tc := range cases {
		t.Run(tc.defect, func(t *testing.T) {
			out, err := results[i].out, results[i].err
			if len(tc.failures) == 0 {
				if err != nil {
					t.Fatalf("the suite failed a correct backend: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed a backend with defect %q:\n%s", tc.defect, out)
			}
			for _, sub := range tc.failures {
				if !strings.Contains(string(out), "--- FAIL: TestReferenceBackend/"+sub+" ") {
					t.Errorf("defect %q: subtest %s did not fail:\n%s", tc.defect, sub, out)
				}
			}
		})
	}
}

// TestReferenceBackend is the child process of TestSuiteCatchesDefects.
func TestReferenceBackend(t *testing.T) {
	defect := os.Getenv(brokenEnv)
	if defect == "" {
		t.Skip("child process of TestSuiteCatchesDefects")
	}
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend { return &reference{defect: defect, m: map[string]item{}} },
	})
}

// reference is a minimal correct Backend (one map, one lock) unless defect
// names a planted bug.
type reference struct {
	defect string
	mu     sync.Mutex      // guards m and closed
	m      map[string]item // key → item
	closed bool
}

type item struct {
	val     []byte
	expires time.Time // zero = never
}

func (r *reference) check(ctx context.Context) error {
	if r.defect != "ignore-ctx" {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if r.closed && r.defect != "close-noop" {
		return cache.ErrClosed
	}
	return nil
}

func (r *reference) lookupLocked(key []byte) (item, bool) {
	it, ok := r.m[string(key)]
	if ok && !it.expires.IsZero() && !time.Now().Before(it.expires) {
		delete(r.m, string(key))
		return item{}, false
	}
	return it, ok
}

func (r *reference) item(val []byte, ttl time.Duration) item {
	it := item{val: val}
	if r.defect != "no-copy" {
		it.val = append([]byte{}, val...)
	}
	if r.defect == "nil-empty" && len(val) == 0 {
		it.val = nil
	}
	if ttl > 0 && r.defect != "no-ttl" {
		it.expires = time.Now().Add(ttl)
	}
	return it
}

func (r *reference) SetNX(ctx context.Context, key, val []byte, ttl time.Duration) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(ctx); err != nil {
		return false, err
	}
	if old, ok := r.lookupLocked(key); ok {
		if r.defect == "lost-setnx-extends-ttl" {
			r.m[string(key)] = item{val: old.val, expires: r.item(nil, ttl).expires}
		}
		return false, nil
	}
	if r.defect == "racy-setnx" { // check, then act later: two may win
		r.mu.Unlock()
		runtime.Gosched()
		time.Sleep(time.Millisecond)
		r.mu.Lock()
	}
	r.m[string(key)] = r.item(val, ttl)
	return true, nil
}

func (r *reference) Set(ctx context.Context, key, val []byte, ttl time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(ctx); err != nil {
		return err
	}
	r.m[string(key)] = r.item(val, ttl)
	return nil
}

func (r *reference) Get(ctx context.Context, key []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	it, ok := r.lookupLocked(key)
	switch {
	case !ok && r.defect == "empty-miss":
		return []byte{}, nil
	case !ok:
		return nil, nil
	case r.defect == "no-copy" || (r.defect == "nil-empty" && it.val == nil):
		return it.val, nil
	}
	return append([]byte{}, it.val...), nil
}

func (r *reference) Del(ctx context.Context, key []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(ctx); err != nil {
		return err
	}
	delete(r.m, string(key))
	return nil
}

func (r *reference) Healthy(context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.closed || r.defect == "close-noop"
}

func (r *reference) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}
