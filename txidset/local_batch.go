package txidset

import (
	"runtime"
	"sync/atomic"
)

// batchChunk is how many TxIDs CheckInsertBatch prepares at once: the
// receive batch of the hot loops (64), and 512 bytes of hashes on the stack.
const batchChunk = 64

// CheckInsertBatch is CheckInsert of ids[k] at time now+k for every k, in
// order (so a later copy of a TxID in the batch is a hit), writing hit[k];
// hit must be at least as long as ids.
//
// It first hashes the whole batch and loads every TxID's home index slot:
// independent loads whose cache misses the CPU overlaps, where one
// CheckInsert after another would wait for each miss in turn. The
// check-and-insert pass then finds those lines in cache. Results are
// exactly those of the CheckInsert loop.
func (l *Local) CheckInsertBatch(ids [][32]byte, now int64, hit []bool) {
	hit = hit[:len(ids)]
	for len(ids) > 0 {
		n := min(len(ids), batchChunk)
		l.checkInsertChunk(ids[:n], now, hit[:n])
		ids, hit, now = ids[n:], hit[n:], now+int64(n)
	}
	runtime.KeepAlive(l) // the arena lives as long as l (local_arena.go)
}

// checkInsertChunk is CheckInsertBatch of at most batchChunk ids.
func (l *Local) checkInsertChunk(ids [][32]byte, now int64, hit []bool) {
	var hs [batchChunk]uint64
	hs[len(ids)-1] = 0 // one bounds check for the loops below
	if !l.noPrefetch {
		l.prefetch(ids, &hs)
	}
	for k := range ids {
		w := words(&ids[k])
		if l.noPrefetch {
			hs[k] = hashWords(&w, &l.seed)
		}
		t := now + int64(k)
		hit[k] = l.shards[hs[k]>>l.shardShift].checkInsert(&w, hs[k], t, t+l.ttl)
	}
}

// prefetch hashes ids into hs and loads, for each, the lines its
// check-and-insert will need: its home index slot, and for an insert that
// evicts, the victim entry and that entry's home index slot. The loads
// are independent within each pass, so their misses overlap; results are
// discarded (atomic loads are never optimised away), and the writer-side
// values read (shard.victim, keys) are only hints.
func (l *Local) prefetch(ids [][32]byte, hs *[batchChunk]uint64) {
	var vs [batchChunk]uint32
	var seen [256]uint8 // ids of this chunk per shard (mod 256): which victim is next
	for k := range ids {
		w := words(&ids[k])
		hs[k] = hashWords(&w, &l.seed)
		sh := hs[k] >> l.shardShift
		s := &l.shards[sh]
		atomic.LoadUint32(&s.index[uint32(hs[k])&s.mask])
		n := seen[uint8(sh)]
		seen[uint8(sh)]++
		if n > 1 {
			continue
		}
		if v := uint32(s.victims.Load() >> (32 * n)); v != 0 && int(v) < len(s.entries) {
			vs[k] = v
			atomic.LoadUint64(&s.entries[v].key[0])
			s.entries[v].exp.Load() // the entry's other line when it straddles two
		}
	}
	for k := range ids {
		s := &l.shards[hs[k]>>l.shardShift]
		s.loadCandidates(hs[k])
		if vs[k] == 0 {
			continue
		}
		e := &s.entries[vs[k]]
		w := [4]uint64{atomic.LoadUint64(&e.key[0]), atomic.LoadUint64(&e.key[1]),
			atomic.LoadUint64(&e.key[2]), atomic.LoadUint64(&e.key[3])}
		atomic.LoadUint32(&s.index[uint32(hashWords(&w, &l.seed))&s.mask])
	}
}

// loadCandidates loads the entries whose tag matches h in the first slots
// of h's probe sequence, which a lookup will compare: the entry of a hit,
// or a false match of a miss. A hint only, like everything prefetch reads.
func (s *shard) loadCandidates(h uint64) {
	tag := uint32(h) << s.idxBits
	notIdx := ^uint32(0) << s.idxBits
	j := uint32(h) & s.mask
	for range 4 {
		v := atomic.LoadUint32(&s.index[j])
		if v == 0 {
			return
		}
		if v&notIdx == tag {
			atomic.LoadUint64(&s.entries[v&^notIdx].key[0])
			s.entries[v&^notIdx].exp.Load()
		}
		j = (j + 1) & s.mask
	}
}
