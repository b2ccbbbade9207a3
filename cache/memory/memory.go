// Package memory provides an in-process [cache.Backend]: zero infrastructure,
// used for dev/CI and for per-instance frame storage in the retry endpoint.
// It provides no cross-instance coordination.
//
// The store is a fixed number of shards (a power of two), each a map plus an
// LRU list behind its own mutex; a key's shard is chosen by a seeded
// non-cryptographic hash (hash/maphash). The backend is bounded by key count
// and by bytes; both bounds are split evenly across the shards, and a write
// that takes a shard over either bound evicts that shard's least recently used
// keys (never an arbitrary key). Expired keys are dropped lazily when read and
// by a background sweeper that stops on Close.
//
// Values are copied on the way in and on the way out: a caller may reuse its
// buffer as soon as Set returns, and may modify what Get returns.
//
// Importing the package registers the cache.BackendMemory kind with
// cache.Register, mapping Config.MemoryMaxKeys and Config.MemoryMaxBytes to
// Options.MaxKeys and Options.MaxBytes.
package memory

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// Defaults and internal limits.
const (
	// DefaultShards is the shard count when Options.Shards is 0.
	DefaultShards = 64
	// DefaultSweepInterval is the sweeper period when
	// Options.SweepInterval is 0.
	DefaultSweepInterval = time.Second
	// EntryOverhead is the bytes charged per key on top of len(key) and
	// len(value): the slab entry (64 B) and its map slot (~32 B). It keeps
	// MaxBytes meaningful for stores of many tiny values (dedup claims).
	EntryOverhead = 96

	// Bounds smaller than these per shard reduce the shard count, so that a
	// small bound is still split into useful shards (and an entry may still
	// use a reasonable share of MaxBytes).
	minShardKeys  = 64
	minShardBytes = 1 << 20
	maxShards     = 1024
)

// ErrTooLarge is returned by a write whose entry (key, value and
// EntryOverhead) exceeds MaxEntryBytes: storing it would evict a whole shard.
// The existing value of the key, if any, is left in place.
var ErrTooLarge = errors.New("memory: entry larger than the per-shard byte bound")

// Options configures a Backend. The zero value is a valid, unbounded store.
type Options struct {
	// MaxKeys bounds the number of keys (0 or less = unbounded by count).
	// Each of the Shards shards holds at most its share of MaxKeys, so the
	// total never exceeds MaxKeys.
	MaxKeys int
	// MaxBytes bounds len(key)+len(value)+EntryOverhead summed over all
	// keys (0 or less = unbounded by size), split evenly across the
	// shards. A single entry larger than one shard's share is rejected
	// with ErrTooLarge; see Backend.MaxEntryBytes.
	MaxBytes int64
	// SweepInterval is how often the background sweeper drops expired keys
	// (0 = DefaultSweepInterval; negative disables the sweeper, leaving
	// expiry to reads and eviction).
	SweepInterval time.Duration
	// Clock returns the current time (nil = time.Now). Tests inject a fake
	// clock to control expiry.
	Clock func() time.Time
	// Shards is the shard count, rounded up to a power of two (0 =
	// DefaultShards; at most 1024). It is reduced while a shard's share
	// of MaxKeys would be under 64 keys or its share of MaxBytes under
	// 1 MiB, so that small bounds still give useful shards.
	Shards int
}

// Backend is the in-memory cache.Backend. It also implements cache.Batcher
// and cache.Lister. All methods are safe for concurrent use.
//
// A batch runs its ops in order through the single-key code, so each op gets
// exactly the single-key outcome. It fails as a whole (the error is returned
// and set on every op) only when ctx is already done or the backend is
// closed; when ctx ends part way, the ops already run keep their results,
// every remaining op gets ctx.Err(), and the call returns nil.
type Backend struct {
	shards   []shard
	mask     uint64
	seed     maphash.Seed
	clock    func() time.Time
	epoch    time.Time // clock() at New; entry expiry is kept relative to it
	maxEntry int64     // largest entry a shard accepts; 0 = unbounded

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}  // closed by Close to stop the sweeper
	sweeping  sync.WaitGroup // the sweeper goroutine
}

var (
	_ cache.Backend = (*Backend)(nil)
	_ cache.Batcher = (*Backend)(nil)
	_ cache.Lister  = (*Backend)(nil)
)

func init() {
	cache.Register(cache.BackendMemory, func(cfg cache.Config) (cache.Backend, error) {
		if cfg.MemoryMaxKeys < 0 || cfg.MemoryMaxBytes < 0 {
			return nil, fmt.Errorf("memory: negative bound (MemoryMaxKeys %d, MemoryMaxBytes %d)",
				cfg.MemoryMaxKeys, cfg.MemoryMaxBytes)
		}
		return New(Options{MaxKeys: cfg.MemoryMaxKeys, MaxBytes: cfg.MemoryMaxBytes}), nil
	})
}

// New returns a Backend configured by opts and starts its sweeper. Close it
// to stop the sweeper.
func New(opts Options) *Backend {
	maxKeys, maxBytes := max(opts.MaxKeys, 0), max(opts.MaxBytes, 0)
	n := shardCount(opts.Shards, maxKeys, maxBytes)
	b := &Backend{
		shards: make([]shard, n),
		mask:   uint64(n - 1),
		seed:   maphash.MakeSeed(),
		clock:  opts.Clock,
		stop:   make(chan struct{}),
	}
	if b.clock == nil {
		b.clock = time.Now
	}
	b.epoch = b.clock()
	for i := range b.shards {
		keys, bytes := share(int64(maxKeys), n, i), share(maxBytes, n, i)
		b.shards[i].init(int(keys), bytes)
	}
	if maxBytes > 0 {
		b.maxEntry = maxBytes / int64(n) // the smallest share
	}
	interval := opts.SweepInterval
	if interval == 0 {
		interval = DefaultSweepInterval
	}
	if interval > 0 {
		b.sweeping.Add(1)
		go b.sweepLoop(interval)
	}
	return b
}

// shardCount picks a power-of-two shard count: the requested one (or
// DefaultShards), halved while a bound would leave shards too small.
func shardCount(requested, maxKeys int, maxBytes int64) int {
	if requested <= 0 {
		requested = DefaultShards
	}
	n := 1 << bits.Len(uint(min(requested, maxShards)-1))
	for n > 1 && ((maxKeys > 0 && maxKeys/n < minShardKeys) || (maxBytes > 0 && maxBytes/int64(n) < minShardBytes)) {
		n /= 2
	}
	return n
}

// share is shard i's part of bound split across n shards: the remainder goes
// one unit each to the first shards, so the parts sum to bound exactly.
func share(bound int64, n, i int) int64 {
	part := bound / int64(n)
	if int64(i) < bound%int64(n) {
		part++
	}
	return part
}

// MaxEntryBytes returns the largest entry (len(key)+len(value)+EntryOverhead)
// a write accepts, or 0 when MaxBytes is unbounded.
func (b *Backend) MaxEntryBytes() int64 { return b.maxEntry }

// Shards returns the number of shards in use.
func (b *Backend) Shards() int { return len(b.shards) }

// shardFor returns the shard holding key.
func (b *Backend) shardFor(key []byte) *shard {
	return &b.shards[maphash.Bytes(b.seed, key)&b.mask]
}

// now returns the current time on the backend's expiry clock, in nanoseconds
// since New (monotonic with the real clock).
func (b *Backend) now() int64 { return int64(b.clock().Sub(b.epoch)) }

// deadline converts a TTL to an absolute expiry; 0 means never.
func (b *Backend) deadline(ttl time.Duration) int64 {
	if ttl <= 0 {
		return noExpiry
	}
	now := b.now()
	d := now + int64(ttl)
	if d < now { // overflow: centuries away
		return noExpiry
	}
	return max(d, 1)
}

// Healthy reports true until Close.
func (b *Backend) Healthy(context.Context) bool { return !b.closed.Load() }

// Close stops the sweeper and releases the stored data. Later operations
// return cache.ErrClosed; Close itself is idempotent and always returns nil.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.stop)
		b.sweeping.Wait()
		for i := range b.shards {
			b.shards[i].close()
		}
	})
	return nil
}
