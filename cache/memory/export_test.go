package memory

import "fmt"

// CheckInvariants verifies every shard's internal consistency: the LRU list
// and the index hold the same live entries, the free list holds the rest, and
// the key and byte counters match. Tests call it after stress.
func (b *Backend) CheckInvariants() error {
	for n := range b.shards {
		s := &b.shards[n]
		s.mu.Lock()
		err := s.checkLocked()
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("shard %d: %w", n, err)
		}
	}
	return nil
}

func (s *shard) checkLocked() error {
	if s.closed {
		return nil
	}
	var (
		keys  int
		bytes int64
		seen  = map[int32]bool{}
	)
	prev := int32(0)
	for i := s.entries[0].next; i != 0; i = s.entries[i].next {
		e := &s.entries[i]
		if seen[i] || !e.live {
			return fmt.Errorf("LRU list: slot %d repeated or not live", i)
		}
		if e.prev != prev {
			return fmt.Errorf("LRU list: slot %d prev %d, want %d", i, e.prev, prev)
		}
		if j, ok := s.index[e.key]; !ok || j != i {
			return fmt.Errorf("slot %d key %q: index has %d, %v", i, e.key, j, ok)
		}
		seen[i] = true
		prev = i
		keys++
		bytes += size(len(e.key), len(e.val))
	}
	if s.entries[0].prev != prev {
		return fmt.Errorf("LRU sentinel prev %d, want %d", s.entries[0].prev, prev)
	}
	if keys != len(s.index) || keys != s.keys || bytes != s.bytes {
		return fmt.Errorf("list %d keys %d bytes; index %d; counters %d keys %d bytes", keys, bytes, len(s.index), s.keys, s.bytes)
	}
	if s.maxKeys > 0 && keys > s.maxKeys || s.maxBytes > 0 && bytes > s.maxBytes {
		return fmt.Errorf("over bound: %d keys (max %d), %d bytes (max %d)", keys, s.maxKeys, bytes, s.maxBytes)
	}
	free := 0
	for i := s.free; i != 0; i = s.entries[i].next {
		if seen[i] || s.entries[i].live {
			return fmt.Errorf("free slot %d is live or repeated", i)
		}
		seen[i] = true
		free++
	}
	if keys+free != len(s.entries)-1 {
		return fmt.Errorf("%d live + %d free slots != %d", keys, free, len(s.entries)-1)
	}
	return nil
}
