package txidset

import (
	"context"
	"sync"
)

// Marks are courtesy "seen" writes into another gate's namespace (a
// listener telling the proxies a TxID is already on the fabric). They are
// create-only (SetNX, like a claim): a mark never overwrites or extends an
// existing claim. They go through a bounded ring drained in batches by
// MarkWorkers goroutines; a full ring drops and counts, never blocks.

// markQueue is the bounded ring of TxIDs waiting to be marked.
type markQueue struct {
	mu     sync.Mutex
	ring   [][32]byte // guarded by mu; fixed length
	head   int        // guarded by mu; index of the oldest queued id
	n      int        // guarded by mu; queued ids
	closed bool       // guarded by mu; no more enqueues

	ready chan struct{} // cap 1: the ring may be non-empty
}

func newMarkQueue(size int) *markQueue {
	return &markQueue{ring: make([][32]byte, size), ready: make(chan struct{}, 1)}
}

// push queues as many of ids as fit and reports how many; closed is true
// when the queue no longer accepts ids.
func (q *markQueue) push(ids [][32]byte) (queued int, closed bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, true
	}
	queued = min(len(ids), len(q.ring)-q.n)
	tail := (q.head + q.n) % len(q.ring)
	c := copy(q.ring[tail:], ids[:queued])
	copy(q.ring, ids[c:queued])
	q.n += queued
	q.mu.Unlock()
	if queued > 0 {
		q.signal()
	}
	return queued, false
}

// pop moves up to len(dst) of the oldest ids into dst.
func (q *markQueue) pop(dst [][32]byte) (n int, more bool) {
	q.mu.Lock()
	n = min(len(dst), q.n)
	c := copy(dst[:n], q.ring[q.head:])
	copy(dst[c:n], q.ring)
	q.head = (q.head + n) % len(q.ring)
	q.n -= n
	more = q.n > 0
	q.mu.Unlock()
	return n, more
}

func (q *markQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

func (q *markQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// MarkBatch queues ids for a courtesy write of MarkPrefix+hex(TxID) and
// returns how many were queued. It never blocks: what does not fit in the
// queue is dropped and counted, as are marks while no backend is configured
// and marks after Close. Without a MarkPrefix it does nothing.
func (s *Set) MarkBatch(ids [][32]byte) int {
	if s.marks == nil || len(ids) == 0 {
		return 0
	}
	if !s.hasBackend {
		s.m.markDropBackend.Add(float64(len(ids)))
		return 0
	}
	queued, closed := s.marks.push(ids)
	switch {
	case closed:
		s.m.markDropClosed.Add(float64(len(ids)))
	case queued < len(ids):
		s.m.markDropFull.Add(float64(len(ids) - queued))
	}
	return queued
}

// Mark is MarkBatch for one TxID; it reports whether the id was queued.
func (s *Set) Mark(id [32]byte) bool {
	ids := [1][32]byte{id}
	return s.MarkBatch(ids[:]) == 1
}

// markWorker drains the queue in batches until Close, then drains what is
// left for at most DrainTimeout (after finishing the write in flight, which
// OpTimeout bounds).
func (s *Set) markWorker() {
	defer s.wg.Done()
	q := s.marks
	kb := keyBuf{prefix: s.opts.MarkPrefix}
	batch := make([][32]byte, s.opts.MarkBatch)
	for {
		select {
		case <-s.closed:
			s.drainMarks(&kb, batch)
			return
		case <-q.ready:
		}
		for s.open() {
			n, more := q.pop(batch)
			if more {
				q.signal() // let another worker share the backlog
			}
			if n == 0 {
				break
			}
			s.writeMarks(context.Background(), &kb, batch[:n])
		}
	}
}

// drainMarks writes the queued marks until the queue is empty or
// DrainTimeout has passed; the rest are dropped and counted.
func (s *Set) drainMarks(kb *keyBuf, batch [][32]byte) {
	q := s.marks
	q.close()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	for {
		n, _ := q.pop(batch)
		if n == 0 {
			return
		}
		if ctx.Err() != nil {
			s.m.markDropClosed.Add(float64(n))
			continue
		}
		s.writeMarks(ctx, kb, batch[:n])
	}
}

// writeMarks writes one batch of marks in one round trip.
func (s *Set) writeMarks(ctx context.Context, kb *keyBuf, ids [][32]byte) {
	ref := s.active.Load()
	if ref == nil {
		s.m.markDropBackend.Add(float64(len(ids)))
		return
	}
	ops := kb.ops(len(ids), s.opts.MarkTTL)
	for j := range ids {
		kb.setKey(j, &ids[j])
	}
	_ = s.roundTrip(ctx, ref, ops, false)
	ok := 0
	for j := range ops {
		if ops[j].Err == nil {
			ok++
		}
	}
	if ok > 0 {
		s.m.markWritten.Add(float64(ok))
	}
	if ok < len(ops) {
		s.m.markDropBackend.Add(float64(len(ops) - ok))
	}
}
