package memory

import "sync"

// noExpiry is entry.expires for a key without TTL.
const noExpiry = 0

// entry is one key in a shard's slab. Slot 0 of every slab is the sentinel of
// the shard's circular LRU list, so index 0 doubles as "none".
type entry struct {
	key string // the map key; immutable
	// val is immutable once stored: a write replaces the slice, never its
	// bytes, so a reader may keep a reference after unlocking (List does).
	val     []byte
	expires int64 // on the Backend's clock; noExpiry = never
	// prev and next link live entries into the LRU list (sentinel.next is
	// the most recently used). A free slot's next links the free list.
	prev, next int32
	live       bool
}

// expired reports whether e has expired at now.
func (e *entry) expired(now int64) bool { return e.expires != noExpiry && now >= e.expires }

// size is the byte charge of a key/value pair.
func size(keyLen, valLen int) int64 { return int64(keyLen) + int64(valLen) + EntryOverhead }

// stats are a shard's event counters.
type stats struct {
	evicted, expired, rejected uint64
}

// shard is one lock's worth of the store.
type shard struct {
	mu sync.Mutex
	// All fields below are guarded by mu.
	closed   bool
	index    map[string]int32 // key → slot in entries
	entries  []entry          // slab; entries[0] is the LRU sentinel
	free     int32            // first free slot (0 = none)
	keys     int              // live entries
	bytes    int64            // sum of size() over live entries
	maxKeys  int              // 0 = unbounded
	maxBytes int64            // 0 = unbounded
	stats    stats

	_ [64]byte // keep neighbouring shards' locks off this cache line
}

func (s *shard) init(maxKeys int, maxBytes int64) {
	s.index = make(map[string]int32)
	s.entries = make([]entry, 1) // grows on demand
	s.maxKeys, s.maxBytes = maxKeys, maxBytes
}

// close drops the data and makes every later operation fail.
func (s *shard) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.index, s.entries, s.free, s.keys, s.bytes = nil, nil, 0, 0, 0
}

// lookupLocked returns the slot of a live, unexpired key, or 0. An expired
// key found on the way is removed.
func (s *shard) lookupLocked(key []byte, now func() int64) int32 {
	i, ok := s.index[string(key)]
	if !ok {
		return 0
	}
	if e := &s.entries[i]; e.expires != noExpiry && e.expired(now()) {
		s.removeLocked(i)
		s.stats.expired++
		return 0
	}
	return i
}

// insertLocked stores a new key (absent from the index) as most recently
// used, evicting as needed. It copies key and val.
func (s *shard) insertLocked(key, val []byte, expires int64) error {
	sz := size(len(key), len(val))
	if s.maxBytes > 0 && sz > s.maxBytes {
		s.stats.rejected++
		return ErrTooLarge
	}
	i := s.free
	if i != 0 {
		s.free = s.entries[i].next
	} else {
		s.entries = append(s.entries, entry{})
		i = int32(len(s.entries) - 1)
	}
	e := &s.entries[i]
	*e = entry{key: string(key), val: clone(val), expires: expires, live: true}
	s.index[e.key] = i
	s.pushFrontLocked(i)
	s.keys++
	s.bytes += sz
	s.evictLocked(i)
	return nil
}

// replaceLocked gives the live slot i a new value and expiry and makes it
// most recently used, evicting as needed. It copies val.
func (s *shard) replaceLocked(i int32, val []byte, expires int64) error {
	e := &s.entries[i]
	sz := size(len(e.key), len(val))
	if s.maxBytes > 0 && sz > s.maxBytes {
		s.stats.rejected++
		return ErrTooLarge
	}
	s.bytes += sz - size(len(e.key), len(e.val))
	e.val, e.expires = clone(val), expires
	s.touchLocked(i)
	s.evictLocked(i)
	return nil
}

// evictLocked removes least recently used entries until the shard is within
// its bounds. keep (the entry just written, at the front) is never evicted:
// it alone fits both bounds.
func (s *shard) evictLocked(keep int32) {
	for (s.maxKeys > 0 && s.keys > s.maxKeys) || (s.maxBytes > 0 && s.bytes > s.maxBytes) {
		lru := s.entries[0].prev
		if lru == keep || lru == 0 {
			return
		}
		s.removeLocked(lru)
		s.stats.evicted++
	}
}

// removeLocked deletes the live slot i and puts it on the free list.
func (s *shard) removeLocked(i int32) {
	e := &s.entries[i]
	s.unlinkLocked(i)
	delete(s.index, e.key)
	s.keys--
	s.bytes -= size(len(e.key), len(e.val))
	*e = entry{next: s.free}
	s.free = i
}

// pushFrontLocked links slot i as most recently used.
func (s *shard) pushFrontLocked(i int32) {
	head := &s.entries[0]
	e := &s.entries[i]
	e.prev, e.next = 0, head.next
	s.entries[head.next].prev = i
	head.next = i
}

// unlinkLocked takes slot i out of the LRU list.
func (s *shard) unlinkLocked(i int32) {
	e := &s.entries[i]
	s.entries[e.prev].next = e.next
	s.entries[e.next].prev = e.prev
}

// touchLocked marks slot i most recently used.
func (s *shard) touchLocked(i int32) {
	if s.entries[0].next != i {
		s.unlinkLocked(i)
		s.pushFrontLocked(i)
	}
}

// clone returns a copy of b that is never nil, so that an empty stored value
// reads back as a hit.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
