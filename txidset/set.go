package txidset

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcdedup/mcdedup/cache"
)

// States reported by Set.State.
const (
	StateOK        = "ok"         // backend connected and answering
	StateDegraded  = "degraded"   // backend configured but not open or down: tier 1 only, misses fail open
	StateLocalOnly = "local-only" // no backend configured: tier 1 only by design
	StateDisabled  = "disabled"   // Capacity 0: no dedup, everything forwards
)

// Set is the two-tier TxID claim set: the gate that decides which instance
// of a fleet forwards a TxID. Tier 1 (a Local) answers TxIDs this process
// has seen; the rest go to a shared cache.Backend as create-only SetNX
// claims of Prefix+hex(TxID), one round trip per batch. The backend is an
// optimisation, never a dependency: construction does not need it, errors
// and timeouts fail open, and a backend that keeps failing is skipped until
// a background probe sees it healthy again.
//
// A Set is safe for concurrent use. Close releases its goroutines.
type Set struct {
	opts       Options
	local      *Local // nil when Capacity is 0
	m          *metrics
	collectors []prometheus.Collector // registered with opts.Registerer
	base       time.Time              // origin of the tier-1 clock
	hasBackend bool                   // a backend is configured (Backend or BackendConfig)
	pool       sync.Pool              // *Claimer for Set.ClaimBatch

	// active is the backend claims and marks use: non-nil iff open and not
	// marked down. Written by the maintainer and by markDown.
	active atomic.Pointer[backendRef]
	fails  atomic.Int32  // consecutive failed round trips
	kick   chan struct{} // cap 1: asks the maintainer to probe a down backend

	closed    chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // maintainer and mark workers
	owned     *backendRef    // opened from BackendConfig; written by the maintainer before wg.Done
	marks     *markQueue     // nil when MarkPrefix is empty
}

// New builds a Set. It fails only on invalid Options or when the metrics
// cannot be registered, never because the backend is unreachable: with a
// BackendConfig the backend is opened in the background.
func New(opts Options) (*Set, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Set{
		opts:       o,
		base:       o.Clock(),
		hasBackend: o.Backend != nil || o.BackendConfig != nil,
		kick:       make(chan struct{}, 1),
		closed:     make(chan struct{}),
	}
	if o.Capacity > 0 {
		s.local, err = NewLocal(LocalOptions{Capacity: o.Capacity, TTL: o.TTL, Shards: o.Shards})
		if err != nil {
			return nil, err
		}
	}
	if s.m, s.collectors, err = newMetrics(&s.opts, s.local); err != nil {
		return nil, err
	}
	s.pool.New = func() any { return s.NewClaimer() }
	if o.MarkPrefix != "" {
		s.marks = newMarkQueue(o.MarkQueue)
		for range o.MarkWorkers {
			s.wg.Add(1)
			go s.markWorker()
		}
	}
	switch {
	case o.Backend != nil:
		ref := newBackendRef(o.Backend)
		s.setUp(ref)
		s.wg.Add(1)
		go s.maintain(ref)
	case o.BackendConfig != nil:
		s.m.backendUp.Set(0)
		s.wg.Add(1)
		go s.maintain(nil)
	}
	return s, nil
}

// now reads the clock once: nanoseconds since New.
func (s *Set) now() int64 { return int64(s.opts.Clock().Sub(s.base)) }

// open reports whether Close has not been called yet.
func (s *Set) open() bool {
	select {
	case <-s.closed:
		return false
	default:
		return true
	}
}

// Local is the in-process tier (nil when Capacity is 0), for inspection.
func (s *Set) Local() *Local { return s.local }

// State is StateOK, StateDegraded, StateLocalOnly or StateDisabled.
func (s *Set) State() string {
	switch {
	case s.local == nil:
		return StateDisabled
	case !s.hasBackend:
		return StateLocalOnly
	case s.active.Load() != nil:
		return StateOK
	}
	return StateDegraded
}

// Backend returns the backend claims currently use, or nil while none is
// configured, open or up. It is for cold paths such as the operator key
// browser, which must not hold on to it.
func (s *Set) Backend() cache.Backend {
	if ref := s.active.Load(); ref != nil {
		return ref.b
	}
	return nil
}

// Healthy is false only while a configured backend is unavailable (State
// degraded), for a binary's /readyz. With Capacity 0 it reflects the
// backend used by Mark.
func (s *Set) Healthy() bool { return !s.hasBackend || s.active.Load() != nil }

// Close stops the background goroutines, writes queued marks for at most
// DrainTimeout, closes a backend opened from BackendConfig and unregisters
// the metrics. Claims after Close still use tier 1 and fail open on misses
// when a backend was configured. Close is idempotent and returns the error
// of closing the owned backend.
func (s *Set) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		s.wg.Wait()
		if s.owned != nil {
			s.active.Store(nil)
			err = s.owned.b.Close()
		}
		if s.opts.Registerer != nil {
			for _, c := range s.collectors {
				s.opts.Registerer.Unregister(c)
			}
		}
	})
	return err
}

// backendRef is an open backend and its optional batch capability.
type backendRef struct {
	b     cache.Backend
	batch cache.Batcher // nil when b has no batch support
	// bound is the backend's own limit on each operation or batch: the
	// OpTimeout of a backend opened from a cache.Config (which every kind
	// must honour), 0 for one the caller supplied.
	bound time.Duration
}

func newBackendRef(b cache.Backend) *backendRef {
	bt, _ := b.(cache.Batcher)
	return &backendRef{b: b, batch: bt}
}
