package txidset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Tier-1 sizing limits.
const (
	// MaxShardEntries is the most entries one shard holds. It keeps an entry
	// index and a hash tag that still names the home slot inside one uint32
	// index slot (see shard).
	MaxShardEntries = 1 << 15
	// MaxShards bounds the shard count, and with MaxShardEntries the
	// capacity of a Local (2^29 entries, about 30 GiB).
	MaxShards = 1 << 14
	// MaxCapacity is the largest capacity NewLocal accepts.
	MaxCapacity = MaxShards * MaxShardEntries

	minShardEntries = 64 // auto sharding keeps at least this many per shard
)

// BytesPerEntry is the memory of one TxID held, rounded up: a 40-byte entry
// (the TxID and an int64 expiry), 12 bytes in the recency ring, 1.5 in the
// re-queue heap (an eighth of the ring), and the open-addressing index at 4
// bytes per slot and a load factor between 0.375 and 0.75 (5.3–10.7 bytes;
// 8 for power-of-two shard capacities). 1,048,576 entries take 62 MiB
// (TestLocalMemoryPerEntry measures it).
const BytesPerEntry = 40 + 12 + 2 + 8

// ErrCapacity reports a capacity or shard count NewLocal cannot honour.
var ErrCapacity = errors.New("txidset: invalid tier-1 capacity")

// Local is the in-process tier: a set of [32]byte TxIDs bounded by a
// capacity and a TTL, sharded by a seeded hash of the whole TxID, with
// exact LRU eviction inside each shard. Lookups and inserts allocate
// nothing; all storage is allocated by NewLocal.
//
// A hit takes no lock and writes nothing shared: it reads the shard under a
// sequence counter (seqlock) and raises the entry's own expiry with a CAS,
// so hits from many cores scale. Inserts, evictions and expired entries
// take the shard mutex. Recency is kept as a lazy min-heap of expiry stamps
// (see stampHeap), so the victim is always the least recently seen entry.
//
// Expiry is "TTL since last sighting": a hit extends the expiry to now+TTL,
// as the reference does. Entries stamped with equal times are evicted in an
// unspecified order among themselves; Set stamps the TxIDs of a batch a
// nanosecond apart so that recency follows batch order.
//
// Times are int64 nanoseconds on any monotonic scale chosen by the caller
// (Set uses nanoseconds since its construction). Callers pass the time in so
// that a batch reads the clock once.
type Local struct {
	shards     []shard
	seed       [4]uint64 // hash seed, copied into each shard for rehashing victims
	shardShift uint      // 64 - log2(len(shards)); a shift of 64 yields shard 0
	ttl        int64
	capacity   int
	arena      arena // off-heap storage of the shards' arrays, if any
	noPrefetch bool  // CheckInsertBatch skips its loading pass (tests, measurements)
}

// shard is one LRU set. entries holds the TxIDs (entries[0] is unused: 0
// means "none"); index is a linear-probing hash table of uint32 slots: 0 is
// empty, otherwise tag<<idxBits | entry number, where tag is the low
// 32-idxBits bits of the hash and therefore contains the home slot. The tag
// filters probes without touching entries and lets backward-shift deletion
// (no tombstones) find each slot's home without rehashing keys.
//
// Concurrency: writers hold mu and make ver odd while they change index or
// entry keys; readers load both with atomics, without mu, and retry (or
// fall back to mu) unless ver was even and unchanged across the read. Entry
// expiries are atomics raised by CAS, by readers and writers alike. The
// first cache line holds what lock-free readers use; mu and the writer
// state sit on the next ones.
type shard struct {
	ver     atomic.Uint64 // seqlock: odd while a writer changes index or keys
	entries []entry       // [1..cap]; keys change only under mu with ver odd
	index   []uint32      // len is a power of two, load <= 0.75; changes as keys do
	mask    uint32        // len(index)-1
	idxBits uint32        // bits of an entry number in a slot

	mu          sync.Mutex // serialises writers; guards the fields below
	rec         recency    // recency of the entries held (lazy)
	cap         uint32
	used        uint32 // entries[1..used] are in use; the rest never were
	evictions   uint64 // live entries evicted at capacity
	expirations uint64 // expired entries reused or refreshed
	seed        [4]uint64
	// victims are the entries the next two inserts will probably reuse
	// (the ring's first two, low word first), published by writers for
	// CheckInsertBatch to load ahead. A hint, never trusted: a stale value
	// costs a wasted load only.
	victims atomic.Uint64
}

// entry is one TxID: 40 bytes.
type entry struct {
	key [4]uint64    // the TxID as little-endian words; atomic loads outside mu
	exp atomic.Int64 // expiry in the caller's nanoseconds; live iff exp > now
}

// LocalOptions configures a Local.
type LocalOptions struct {
	// Capacity is the total number of TxIDs held (1..MaxCapacity).
	Capacity int
	// TTL is how long an entry lives after its last sighting (> 0).
	TTL time.Duration
	// Shards is the shard count, rounded up to a power of two; 0 chooses
	// from Capacity and GOMAXPROCS (16 per P within 64..256, fewer for
	// small capacities so each shard keeps at least 64 entries, more when
	// a shard would exceed MaxShardEntries).
	Shards int
}

// NewLocal allocates a Local. It fails only on an invalid capacity, shard
// count or TTL.
func NewLocal(opts LocalOptions) (*Local, error) {
	if opts.Capacity < 1 || opts.Capacity > MaxCapacity {
		return nil, fmt.Errorf("%w: capacity %d (want 1..%d)", ErrCapacity, opts.Capacity, MaxCapacity)
	}
	if opts.TTL <= 0 {
		return nil, fmt.Errorf("%w: ttl %v (want > 0)", ErrCapacity, opts.TTL)
	}
	n, err := shardCount(opts.Capacity, opts.Shards, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}
	l := &Local{
		shards:     make([]shard, n),
		shardShift: uint(64 - bits.TrailingZeros(uint(n))),
		ttl:        int64(opts.TTL),
		capacity:   opts.Capacity,
	}
	l.seed = [4]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()}
	caps := make([]uint32, n)
	per, extra := opts.Capacity/n, opts.Capacity%n
	for i := range l.shards {
		caps[i] = uint32(per)
		if i < extra {
			caps[i]++
		}
		l.shards[i].seed = l.seed
	}
	l.allocShards(caps)
	return l, nil
}

// shardCount picks a power-of-two shard count.
func shardCount(capacity, want, procs int) (int, error) {
	n := 1
	if want > 0 {
		for n < want {
			n <<= 1
		}
	} else {
		for n < 16*procs {
			n <<= 1
		}
		n = min(max(n, 64), 256)
		for n > 1 && capacity/n < minShardEntries {
			n >>= 1
		}
	}
	for (capacity+n-1)/n > MaxShardEntries {
		n <<= 1
	}
	if n > MaxShards || n > capacity {
		return 0, fmt.Errorf("%w: %d shards for capacity %d (want 1..%d shards of at most %d entries, none empty)",
			ErrCapacity, n, capacity, MaxShards, MaxShardEntries)
	}
	return n, nil
}

// shardGeometry sizes a shard of c entries: a power-of-two index with load
// at most 0.75, and the bits an entry index takes in a slot.
func shardGeometry(c uint32) (slots, idxBits uint32) {
	slots = 8
	for slots < c+c/3+1 {
		slots <<= 1
	}
	return slots, uint32(bits.Len32(c))
}

// hashWords mixes all 32 bytes of a TxID with a per-Local random seed, so
// crafted TxIDs cannot pile into one shard or probe chain, and a process
// serving only some multicast groups (chosen by the leading TxID bits) is
// not skewed. The top bits pick the shard, the low bits the slot and tag.
func hashWords(w *[4]uint64, seed *[4]uint64) uint64 {
	h1, l1 := bits.Mul64(w[0]^seed[0], w[1]^seed[1])
	h2, l2 := bits.Mul64(w[2]^seed[2], w[3]^seed[3])
	return h1 ^ l1 ^ h2 ^ l2
}

// words loads a TxID as four little-endian words.
func words(id *[32]byte) [4]uint64 {
	le := binary.LittleEndian
	return [4]uint64{le.Uint64(id[0:]), le.Uint64(id[8:]), le.Uint64(id[16:]), le.Uint64(id[24:])}
}

func (l *Local) shardFor(w *[4]uint64) (*shard, uint64) {
	h := hashWords(w, &l.seed)
	return &l.shards[h>>l.shardShift], h
}

// CheckInsert reports whether id is present and unexpired at now, and in the
// same step records it: a hit makes it the most recently seen and extends
// its expiry to now+TTL; a miss inserts it, evicting the shard's least
// recently seen entry when the shard is full.
func (l *Local) CheckInsert(id *[32]byte, now int64) (hit bool) {
	w := words(id)
	s, h := l.shardFor(&w)
	hit = s.checkInsert(&w, h, now, now+l.ttl)
	runtime.KeepAlive(l) // the arena lives as long as l (local_arena.go)
	return hit
}

// checkInsert is CheckInsert on the shard of w (hash h): the lock-free hit
// first, else the locked check-and-insert. exp is now+TTL.
func (s *shard) checkInsert(w *[4]uint64, h uint64, now, exp int64) bool {
	if s.touch(w, h, now, exp) {
		return true
	}
	s.mu.Lock()
	hit := s.checkInsertLocked(w, h, now, exp)
	s.mu.Unlock()
	return hit
}

// Contains reports whether id is present and unexpired at now, without
// refreshing it.
func (l *Local) Contains(id *[32]byte, now int64) bool {
	defer runtime.KeepAlive(l) // the arena lives as long as l (local_arena.go)
	w := words(id)
	s, h := l.shardFor(&w)
	if e, exp, ok := s.lookup(&w, h); ok {
		return e != 0 && exp > now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, i := s.findLocked(&w, h)
	return i != 0 && s.entries[i].exp.Load() > now
}

// Capacity is the number of entries the Local holds at most.
func (l *Local) Capacity() int { return l.capacity }

// Shards is the shard count.
func (l *Local) Shards() int { return len(l.shards) }

// Len counts the entries held, including expired ones not yet reused.
// It takes every shard lock in turn: a scrape-time call, not a hot-path one.
func (l *Local) Len() int {
	return int(l.sum(func(s *shard) uint64 { return uint64(s.rec.len()) }))
}

// Evictions counts live entries evicted because their shard was full.
func (l *Local) Evictions() uint64 {
	return l.sum(func(s *shard) uint64 { return s.evictions })
}

// Expirations counts expired entries that were reused for another TxID or
// seen again (and so inserted afresh).
func (l *Local) Expirations() uint64 {
	return l.sum(func(s *shard) uint64 { return s.expirations })
}

// sum adds f over the shards, each read under its lock.
func (l *Local) sum(f func(*shard) uint64) uint64 {
	var n uint64
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += f(s)
		s.mu.Unlock()
	}
	return n
}
