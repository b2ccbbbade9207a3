package proxy

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/mcdedup/mcdedup/frame"
)

// flowKey identifies one flow of this proxy: the groupIdx ingredient of the
// HashKey and the subtree ingredient. The third ingredient, the proxy's own
// identity, is the same for every flow of the table.
type flowKey struct {
	idx     uint32
	subtree [32]byte
}

// flow is the state of one flow. Its fields are guarded by the mutex of the
// shard that holds it.
type flow struct {
	key        flowKey
	hashKey    uint64 // frame.HashKey(source, key.idx, key.subtree), computed once
	next       uint64 // next SeqNum to hand out; starts at 1
	lastUse    int64  // nanoseconds on the table's clock scale
	prev, newr *flow  // LRU list: newr towards the most recent end
}

// flowShard is one lock domain of the flow table.
type flowShard struct {
	mu sync.Mutex
	// Guarded by mu: the flows of the shard, and their LRU list from the
	// least recently used (oldest) to the most recently used (newest).
	m              map[flowKey]*flow
	oldest, newest *flow
	free           *flow // removed entries kept for reuse (linked by newr)
	nfree          int   // length of the free list, at most maxFreeFlows
	tombs          tombs // numbering of flows the cap evicted
	_              [32]byte
}

// tomb is the numbering of a flow the cap evicted: created again while the
// tomb lasts, the flow continues from next instead of starting over at 1,
// so that no HashKey‖SeqNum is used twice while a listener's window or an
// endpoint's cache may still hold the first use.
type tomb struct {
	key     flowKey // for the state file (flowstate.go)
	hashKey uint64
	next    uint64
	lastUse int64
}

// tombs is a shard's FIFO of tombs, at most perShard, indexed by HashKey.
// It is allocated at the shard's first eviction: a table that never fills
// pays nothing.
type tombs struct {
	ring []tomb
	head int              // oldest tomb
	n    int              // tombs held
	at   map[uint64]int32 // HashKey → ring position
}

// flowTable hands out SeqNums per flow. It is shared by every worker,
// sharded by key with one mutex per shard, bounded by a per-shard share of
// the flow cap with exact LRU eviction inside each shard, and swept for
// idle flows by the proxy's background loop. Looking up an existing flow
// allocates nothing; a new flow allocates its entry once (entries of evicted
// or expired flows are reused).
type flowTable struct {
	source   [16]byte // frame.SourceID of the proxy's flow identity
	shards   []flowShard
	mask     uint32
	perShard int   // flow cap of each shard, and tombs kept per shard
	idle     int64 // a tomb older than this (since the flow's last use) is void

	count   atomic.Int64  // flows held, for the flows gauge
	evicted atomic.Uint64 // flows evicted by the cap
	expired atomic.Uint64 // flows removed by the idle sweep
	resumed atomic.Uint64 // evicted flows created again that continued their numbering
}

// newFlowTable returns a table for the proxy identity source holding at most
// maxFlows flows (rounded so each shard gets an equal share, at least 1),
// and as many tombs of evicted flows, each valid for idle nanoseconds after
// the flow's last use: past that a flow may start over at SeqNum 1 (see
// DefaultFlowIdle).
func newFlowTable(source [16]byte, maxFlows int, idle int64) *flowTable {
	n := 1
	for n < 64 && n*64 < maxFlows { // at least 64 flows per shard, at most 64 shards
		n <<= 1
	}
	t := &flowTable{
		source:   source,
		shards:   make([]flowShard, n),
		mask:     uint32(n - 1),
		perShard: max(1, maxFlows/n),
		idle:     idle,
	}
	for i := range t.shards {
		t.shards[i].m = make(map[flowKey]*flow)
	}
	return t
}

// flowMix hashes a flow key for the flow table's shards and a batch's
// flow index: a mix of the group index and subtree bytes from both ends, so
// that flows of one group with many subtrees spread too.
func flowMix(idx uint32, subtree *[32]byte) uint32 {
	h := idx*0x9E3779B1 ^ binary.LittleEndian.Uint32(subtree[:4])*0x85EBCA77 ^
		binary.LittleEndian.Uint32(subtree[28:])
	return h>>16 ^ h
}

// shard returns the shard of k (flowMix).
func (t *flowTable) shard(k *flowKey) *flowShard {
	return &t.shards[flowMix(k.idx, &k.subtree)&t.mask]
}

// reserve returns the HashKey of the flow (idx, subtree) and the first of n
// consecutive SeqNums reserved for the caller, creating the flow (SeqNum 1)
// if needed and marking it used at now. n must be at least 1.
func (t *flowTable) reserve(idx uint32, subtree *[32]byte, n uint64, now int64) (hashKey, first uint64) {
	k := flowKey{idx: idx, subtree: *subtree}
	s := t.shard(&k)
	s.mu.Lock()
	f := s.m[k]
	if f == nil {
		f = t.createLocked(s, &k, now)
	} else {
		s.unlinkLocked(f)
	}
	f.lastUse = now
	s.pushNewestLocked(f)
	first = f.next
	f.next += n
	hashKey = f.hashKey
	s.mu.Unlock()
	return hashKey, first
}

// createLocked adds a new flow for k to s, evicting the shard's least
// recently used flow (and keeping its tomb) when the shard is full. A flow
// with a valid tomb continues its numbering. The new flow is not linked.
func (t *flowTable) createLocked(s *flowShard, k *flowKey, now int64) *flow {
	if len(s.m) >= t.perShard && s.oldest != nil {
		old := s.oldest
		s.unlinkLocked(old)
		delete(s.m, old.key)
		s.tombs.bury(tomb{key: old.key, hashKey: old.hashKey, next: old.next, lastUse: old.lastUse}, t.perShard)
		s.releaseLocked(old)
		t.count.Add(-1)
		t.evicted.Add(1)
	}
	f := s.free
	if f != nil {
		s.free = f.newr
		s.nfree--
		*f = flow{}
	} else {
		f = new(flow)
	}
	f.key = *k
	f.hashKey = frame.HashKey(t.source, k.idx, k.subtree)
	f.next = 1
	if next, ok := s.tombs.exhume(f.hashKey, now-t.idle); ok {
		f.next = next
		t.resumed.Add(1)
	}
	s.m[*k] = f
	t.count.Add(1)
	return f
}

// expire removes every flow last used before cutoff and returns how many it
// removed. Each shard's LRU list is in last-use order, so it stops at the
// first fresh flow of each shard.
func (t *flowTable) expire(cutoff int64) int {
	removed := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for f := s.oldest; f != nil && f.lastUse < cutoff; f = s.oldest {
			s.unlinkLocked(f)
			delete(s.m, f.key)
			s.releaseLocked(f)
			removed++
		}
		s.mu.Unlock()
	}
	t.count.Add(int64(-removed))
	t.expired.Add(uint64(removed))
	return removed
}

// len returns the number of flows held.
func (t *flowTable) len() int { return int(t.count.Load()) }

// unlinkLocked removes f from the LRU list of s.
func (s *flowShard) unlinkLocked(f *flow) {
	if f.prev != nil {
		f.prev.newr = f.newr
	} else {
		s.oldest = f.newr
	}
	if f.newr != nil {
		f.newr.prev = f.prev
	} else {
		s.newest = f.prev
	}
	f.prev, f.newr = nil, nil
}

// pushNewestLocked links f as the most recently used flow of s.
func (s *flowShard) pushNewestLocked(f *flow) {
	f.prev, f.newr = s.newest, nil
	if s.newest != nil {
		s.newest.newr = f
	} else {
		s.oldest = f
	}
	s.newest = f
}

// maxFreeFlows bounds the removed entries a shard keeps for reuse, so that
// eviction under a full table allocates nothing while a table that shrank
// after an idle sweep gives its memory back.
const maxFreeFlows = 64

// releaseLocked keeps an unlinked, removed entry for reuse, up to
// maxFreeFlows per shard.
func (s *flowShard) releaseLocked(f *flow) {
	if s.nfree >= maxFreeFlows {
		return
	}
	f.newr = s.free
	s.free = f
	s.nfree++
}

// bury keeps tb, forgetting the oldest tomb when limit are held.
func (ts *tombs) bury(tb tomb, limit int) {
	if ts.ring == nil {
		ts.ring = make([]tomb, limit)
		ts.at = make(map[uint64]int32, min(limit, 1024))
	}
	if ts.n == len(ts.ring) {
		old := &ts.ring[ts.head]
		if p, ok := ts.at[old.hashKey]; ok && int(p) == ts.head {
			delete(ts.at, old.hashKey)
		}
		ts.head = (ts.head + 1) % len(ts.ring)
		ts.n--
	}
	p := (ts.head + ts.n) % len(ts.ring)
	ts.ring[p] = tb
	ts.at[tb.hashKey] = int32(p) // a newer tomb of the same flow wins
	ts.n++
}

// exhume removes the tomb of hashKey and returns its next SeqNum, if there
// is one for a flow last used at or after since.
func (ts *tombs) exhume(hashKey uint64, since int64) (next uint64, ok bool) {
	p, ok := ts.at[hashKey]
	if !ok {
		return 0, false
	}
	delete(ts.at, hashKey) // its ring slot is skipped when it comes round
	tb := &ts.ring[p]
	if tb.lastUse < since {
		return 0, false
	}
	return tb.next, true
}

// each calls fn for every tomb held (not exhumed, not forgotten), oldest
// first.
func (ts *tombs) each(fn func(*tomb)) {
	for k := range ts.n {
		p := (ts.head + k) % len(ts.ring)
		tb := &ts.ring[p]
		if q, ok := ts.at[tb.hashKey]; ok && int(q) == p {
			fn(tb)
		}
	}
}
