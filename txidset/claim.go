package txidset

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// Result is the outcome of claiming one TxID.
type Result uint8

// Claim results. The zero value is Won, so an unset result forwards.
const (
	// Won: this process claimed the TxID first (or dedup is off); forward.
	Won Result = iota
	// Lost: another instance holds the claim in the backend; drop.
	Lost
	// LocalHit: tier 1 has seen the TxID (earlier, or earlier in the same
	// batch); drop without a backend call.
	LocalHit
	// FailOpen: the backend failed, timed out or is down; forward anyway.
	FailOpen
)

// Forward reports whether the caller should forward the frame.
func (r Result) Forward() bool { return r == Won || r == FailOpen }

// String names the result.
func (r Result) String() string {
	switch r {
	case Won:
		return "won"
	case Lost:
		return "lost"
	case LocalHit:
		return "local-hit"
	case FailOpen:
		return "fail-open"
	}
	return "invalid"
}

// claimVal is the value of every claim and mark; backends never retain or
// modify it.
var claimVal = []byte{'1'}

// Claimer is a per-goroutine handle for claiming batches: it owns the key
// buffer and the []cache.Op of its backend round trips, so a receive loop
// that keeps one Claimer allocates nothing per TxID. A Claimer must not be
// used by two goroutines at once.
type Claimer struct {
	s    *Set
	keys keyBuf
	pos  []int32 // position in ids of each tier-1 miss, parallel to keys.ops
	hits []bool  // tier-1 answer for each id of the batch
}

// NewClaimer returns a handle for one goroutine's receive loop.
func (s *Set) NewClaimer() *Claimer {
	return &Claimer{s: s, keys: keyBuf{prefix: s.opts.Prefix}}
}

// ClaimBatch claims ids and writes one Result per id into out, which must be
// at least as long as ids. Tier-1 hits, including later copies of an id
// within the batch, are LocalHit and never touch the backend. All tier-1
// misses go to the backend in one SetNXBatch round trip (a loop of SetNX
// when the backend has no Batcher) bounded by OpTimeout; every miss is
// recorded in tier 1 before the round trip, so concurrent claimers of the
// same TxID in this process see a LocalHit rather than forwarding twice.
// Any backend error, the deadline, or a backend that is down makes the
// misses FailOpen. ctx may cancel the round trip early (also FailOpen).
func (c *Claimer) ClaimBatch(ctx context.Context, ids [][32]byte, out []Result) {
	s := c.s
	out = out[:len(ids)]
	var t tally
	if s.local == nil {
		clear(out) // Won
		t.won = len(ids)
		s.m.flush(&t)
		return
	}
	// One clock read per batch; the TxIDs are stamped a nanosecond apart
	// so that tier-1 recency follows batch order.
	if cap(c.hits) < len(ids) {
		c.hits = make([]bool, len(ids))
	}
	hits := c.hits[:len(ids)]
	s.local.CheckInsertBatch(ids, s.now(), hits)
	c.pos = c.pos[:0]
	for i, hit := range hits {
		if hit {
			out[i] = LocalHit
			t.hits++
			continue
		}
		c.pos = append(c.pos, int32(i))
	}
	if len(c.pos) > 0 {
		c.claimMisses(ctx, ids, out, &t)
	}
	s.m.flush(&t)
}

// claimMisses resolves the tier-1 misses listed in c.pos with the backend.
func (c *Claimer) claimMisses(ctx context.Context, ids [][32]byte, out []Result, t *tally) {
	s := c.s
	ref := s.active.Load()
	if ref == nil {
		r := Won // tier 1 only: the process-wide check-and-insert decided
		if s.hasBackend {
			r = FailOpen // degraded: configured backend not open or down
		}
		for _, i := range c.pos {
			out[i] = r
		}
		if r == Won {
			t.won += len(c.pos)
		} else {
			t.failOpen += len(c.pos)
		}
		return
	}
	ops := c.keys.ops(len(c.pos), s.opts.TTL)
	for j, i := range c.pos {
		c.keys.setKey(j, &ids[i])
	}
	err := s.roundTrip(ctx, ref, ops, true)
	for j, i := range c.pos {
		switch op := &ops[j]; {
		case op.Err != nil || (err != nil && !op.Created):
			out[i] = FailOpen
			t.failOpen++
		case op.Created:
			out[i] = Won
			t.won++
		default:
			out[i] = Lost
			t.lost++
		}
	}
}

// roundTrip runs one create-only write of ops under OpTimeout, records its
// metrics when claim is set, and feeds the backend health tracker. It
// returns the batch error or, when every op failed, the first op error.
func (s *Set) roundTrip(ctx context.Context, ref *backendRef, ops []cache.Op, claim bool) error {
	rtCtx := ctx
	if ref.bound <= 0 || ref.bound > s.opts.OpTimeout {
		// The backend does not bound the round trip by OpTimeout itself.
		// Deriving a context per round trip costs four allocations and a
		// runtime timer armed and stopped, so it is done only here.
		var cancel context.CancelFunc
		rtCtx, cancel = context.WithTimeout(ctx, s.opts.OpTimeout)
		defer cancel()
	}
	start := time.Now()
	err := ref.setNX(rtCtx, ops)
	elapsed := time.Since(start)
	failed := 0
	for i := range ops {
		if ops[i].Err != nil {
			failed++
			if err == nil && failed == len(ops) {
				err = ops[i].Err
			}
		}
	}
	if claim {
		s.m.roundTrips.Inc()
		s.m.batchSize.Observe(float64(len(ops)))
		s.m.latency.Observe(elapsed.Seconds())
		if failed > 0 || err != nil {
			s.m.backendErrors.Inc()
		}
	}
	s.noteRoundTrip(ctx, ref, err)
	return err
}

// Claim claims one TxID through the batch path, using a pooled Claimer.
func (s *Set) Claim(ctx context.Context, id [32]byte) Result {
	ids := [1][32]byte{id}
	var out [1]Result
	s.ClaimBatch(ctx, ids[:], out[:])
	return out[0]
}

// ClaimBatch is Claimer.ClaimBatch on a pooled Claimer, for callers without
// a long-lived receive loop. Hot loops should keep their own Claimer.
func (s *Set) ClaimBatch(ctx context.Context, ids [][32]byte, out []Result) {
	c := s.pool.Get().(*Claimer)
	c.ClaimBatch(ctx, ids, out)
	s.pool.Put(c)
}

// keyBuf builds backend keys (prefix + 64 hex digits) into one reused
// buffer, and the []cache.Op that carries them.
type keyBuf struct {
	prefix string
	buf    []byte     // n keys of len(prefix)+64 bytes, prefixes pre-filled
	opBuf  []cache.Op // reused ops; Keys point into buf
}

// ops returns n reset ops of the given TTL with room for n keys.
func (k *keyBuf) ops(n int, ttl time.Duration) []cache.Op {
	kl := len(k.prefix) + hex.EncodedLen(32)
	if len(k.buf) < n*kl {
		k.buf = make([]byte, max(n, 64)*kl)
		for off := 0; off < len(k.buf); off += kl {
			copy(k.buf[off:], k.prefix)
		}
	}
	if cap(k.opBuf) < n {
		k.opBuf = make([]cache.Op, max(n, 64))
	}
	ops := k.opBuf[:n]
	for j := range ops {
		ops[j] = cache.Op{Key: k.buf[j*kl : (j+1)*kl : (j+1)*kl], Val: claimVal, TTL: ttl}
	}
	return ops
}

// setKey writes hex(id) into key j (after the pre-filled prefix).
func (k *keyBuf) setKey(j int, id *[32]byte) {
	kl := len(k.prefix) + hex.EncodedLen(32)
	hex.Encode(k.buf[j*kl+len(k.prefix):(j+1)*kl], id[:])
}
