package memory

import (
	"context"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// SetNX creates key=val with the given ttl iff key is absent or expired; a
// lost race touches the existing key (LRU) but changes neither its value nor
// its expiry. ttl <= 0 means no expiry. It fails with the context's error when
// ctx is done, ErrTooLarge for an oversized entry and cache.ErrClosed after
// Close.
func (b *Backend) SetNX(ctx context.Context, key, val []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return b.setNX(key, val, ttl)
}

func (b *Backend) setNX(key, val []byte, ttl time.Duration) (bool, error) {
	s, err := b.lockShard(key)
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	if i := s.lookupLocked(key, b.now); i != 0 {
		s.touchLocked(i)
		return false, nil
	}
	if err := s.insertLocked(key, val, b.deadline(ttl)); err != nil {
		return false, err
	}
	return true, nil
}

// Set writes key=val with the given ttl, replacing any value and expiry.
// ttl <= 0 means no expiry.
func (b *Backend) Set(ctx context.Context, key, val []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.set(key, val, ttl)
}

func (b *Backend) set(key, val []byte, ttl time.Duration) error {
	s, err := b.lockShard(key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if i, ok := s.index[string(key)]; ok {
		return s.replaceLocked(i, val, b.deadline(ttl))
	}
	return s.insertLocked(key, val, b.deadline(ttl))
}

// Get returns a copy of the value stored under key and marks the key most
// recently used; (nil, nil) on a miss or an expired key (which it removes).
// An empty stored value is returned as a non-nil empty slice.
func (b *Backend) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.get(key)
}

func (b *Backend) get(key []byte) ([]byte, error) {
	s, err := b.lockShard(key)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	i := s.lookupLocked(key, b.now)
	if i == 0 {
		return nil, nil
	}
	s.touchLocked(i)
	return clone(s.entries[i].val), nil
}

// Del removes key; an absent key is not an error.
func (b *Backend) Del(ctx context.Context, key []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := b.lockShard(key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if i, ok := s.index[string(key)]; ok {
		s.removeLocked(i)
	}
	return nil
}

// lockShard returns key's shard with its lock held, or cache.ErrClosed after
// Close.
func (b *Backend) lockShard(key []byte) (*shard, error) {
	if b.closed.Load() { // fast path; s.closed is the authoritative check
		return nil, cache.ErrClosed
	}
	s := b.shardFor(key)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, cache.ErrClosed
	}
	return s, nil
}
