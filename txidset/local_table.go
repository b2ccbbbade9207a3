package txidset

import "sync/atomic"

// The shard table. touch, lookup and probe run without the lock (seqlock
// readers); the …Locked methods run with s.mu held, and those that change
// index or keys only between the two ver increments of insertLocked.

// probe looks w up with atomic loads and returns its entry number and
// expiry, or 0. It may see a torn state while a writer is active; callers
// validate with ver. The loop is bounded so a torn read cannot spin.
func (s *shard) probe(w *[4]uint64, h uint64) (uint32, int64) {
	tag := uint32(h) << s.idxBits
	notIdx := ^uint32(0) << s.idxBits
	j := uint32(h) & s.mask
	for range len(s.index) {
		v := atomic.LoadUint32(&s.index[j])
		if v == 0 {
			return 0, 0
		}
		if v&notIdx == tag {
			i := v &^ notIdx
			e := &s.entries[i]
			if atomic.LoadUint64(&e.key[0]) == w[0] && atomic.LoadUint64(&e.key[1]) == w[1] &&
				atomic.LoadUint64(&e.key[2]) == w[2] && atomic.LoadUint64(&e.key[3]) == w[3] {
				return i, e.exp.Load()
			}
		}
		j = (j + 1) & s.mask
	}
	return 0, 0
}

// lookup is probe validated by the seqlock; ok is false when a writer
// interfered twice, and the caller should take the lock.
func (s *shard) lookup(w *[4]uint64, h uint64) (i uint32, exp int64, ok bool) {
	for range 2 {
		v := s.ver.Load()
		if v&1 != 0 {
			return 0, 0, false
		}
		i, exp = s.probe(w, h)
		if s.ver.Load() == v {
			return i, exp, true
		}
	}
	return 0, 0, false
}

// touch is the lock-free hit: when w is present and live it raises the
// entry's expiry to exp and reports true. false means "not a plain hit"
// (absent, expired, or a writer interfered): the caller takes the lock.
//
// The hit counts only if no writer began between the first read of ver
// and the last: a writer picks its victim with ver odd (insertLocked), so
// either it sees the raised expiry and spares the entry, or this check
// fails and the locked path answers. Returning true while a writer reused
// the entry would lose the TxID after reporting it held. A raise that
// lands on an entry a writer has just reused (possible only if the new
// expiry equals the old one) lengthens that key's life by less than the
// two callers' clock gap, and is caught by the same check.
func (s *shard) touch(w *[4]uint64, h uint64, now, exp int64) bool {
	v := s.ver.Load()
	if v&1 != 0 {
		return false
	}
	i, old := s.probe(w, h)
	if i == 0 || old <= now || s.ver.Load() != v {
		return false
	}
	e := &s.entries[i]
	for old < exp && !e.exp.CompareAndSwap(old, exp) {
		if old = e.exp.Load(); s.ver.Load() != v {
			return false
		}
	}
	return s.ver.Load() == v
}

// raise lifts *p to exp unless it is already later.
func raise(p *atomic.Int64, exp int64) {
	for old := p.Load(); old < exp && !p.CompareAndSwap(old, exp); old = p.Load() {
	}
}

// findLocked probes for w. It returns the index slot holding w and its
// entry number, or the first empty slot of the probe sequence and 0.
func (s *shard) findLocked(w *[4]uint64, h uint64) (slot, i uint32) {
	tag := uint32(h) << s.idxBits
	notIdx := ^uint32(0) << s.idxBits
	j := uint32(h) & s.mask
	for {
		v := s.index[j]
		if v == 0 {
			return j, 0
		}
		if v&notIdx == tag && s.entries[v&^notIdx].key == *w {
			return j, v &^ notIdx
		}
		j = (j + 1) & s.mask
	}
}

// checkInsertLocked is CheckInsert on one shard after the lock-free path
// declined; exp is now+TTL.
func (s *shard) checkInsertLocked(w *[4]uint64, h uint64, now, exp int64) bool {
	slot, i := s.findLocked(w, h)
	if i == 0 {
		s.insertLocked(w, h, slot, now, exp)
		return false
	}
	e := &s.entries[i]
	live := e.exp.Load() > now
	if !live {
		s.expirations++ // seen again after expiry: a fresh insert in place
	}
	raise(&e.exp, exp)
	return live
}

// insertLocked stores an absent w. It reuses the least recently seen entry
// when that one has expired, else takes a never-used entry, else evicts
// the least recently seen one. slot is the empty slot findLocked returned;
// it is recomputed after a removal shifted the table.
func (s *shard) insertLocked(w *[4]uint64, h uint64, slot uint32, now, exp int64) {
	// The victim is chosen with ver odd: a lock-free hit racing the choice
	// either raised the expiry before it (the entry is re-queued, not
	// taken) or fails its final ver check (touch).
	s.ver.Add(1)
	i, stamp, inRing := s.oldestLocked()
	switch {
	case i != 0 && stamp <= now:
		s.expirations++
	case s.used < s.cap:
		s.used++
		i = 0
	default:
		s.evictions++
	}
	if i != 0 {
		s.rec.pop(inRing)
		s.removeLocked(i)
		slot = s.emptySlotLocked(h)
	} else {
		i = s.used
	}
	e := &s.entries[i]
	for k := range w {
		atomic.StoreUint64(&e.key[k], w[k])
	}
	e.exp.Store(exp)
	atomic.StoreUint32(&s.index[slot], uint32(h)<<s.idxBits|i)
	s.rec.push(i, exp)
	s.ver.Add(1)
	if r := &s.rec.ring; r.n > 1 && s.used == s.cap {
		s.victims.Store(uint64(r.idx[r.head]) | uint64(r.idx[r.at(1)])<<32)
	}
}

// oldestLocked re-queues stale pairs (entries hit since they were stamped)
// at the ring head and the heap top until both are fresh, and returns the
// earlier of the two: the least recently seen entry, its expiry and where
// it is queued (i is 0 when the shard is empty). Each entry needs at most
// one re-queue per hit it received, so the cost is amortised over the
// lock-free hits; the bound only guards against hits racing the loop.
func (s *shard) oldestLocked() (i uint32, stamp int64, inRing bool) {
	q := &s.rec
	for range 2*q.len() + 2 {
		if q.ring.n > 0 {
			ri, rs := q.ring.front()
			if cur := s.entries[ri].exp.Load(); cur > rs {
				q.ring.popFront()
				q.push(ri, cur)
				continue
			}
		}
		if q.heap.n > 0 {
			hi, hs := q.heap.top()
			if cur := s.entries[hi].exp.Load(); cur > hs {
				q.heap.restamp(cur)
				continue
			}
		}
		break
	}
	return q.oldest()
}

// emptySlotLocked returns the first empty slot of h's probe sequence, for a
// key known to be absent.
func (s *shard) emptySlotLocked(h uint64) uint32 {
	j := uint32(h) & s.mask
	for s.index[j] != 0 {
		j = (j + 1) & s.mask
	}
	return j
}

// removeLocked takes entry i out of the index (ver must be odd).
func (s *shard) removeLocked(i uint32) {
	h := hashWords(&s.entries[i].key, &s.seed)
	idxMask := uint32(1)<<s.idxBits - 1
	j := uint32(h) & s.mask
	for s.index[j]&idxMask != i {
		j = (j + 1) & s.mask
	}
	s.deleteSlotLocked(j)
}

// deleteSlotLocked empties slot i and shifts later members of its cluster
// back so that every key stays reachable from its home slot (no tombstones).
func (s *shard) deleteSlotLocked(i uint32) {
	j := i
	for {
		j = (j + 1) & s.mask
		v := s.index[j]
		if v == 0 {
			atomic.StoreUint32(&s.index[i], 0)
			return
		}
		home := (v >> s.idxBits) & s.mask
		// v may fill the hole at i iff i lies cyclically within [home, j).
		if (j-home)&s.mask >= (j-i)&s.mask {
			atomic.StoreUint32(&s.index[i], v)
			i = j
		}
	}
}
