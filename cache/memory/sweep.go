package memory

import "time"

// sweepChunk is how many slab slots the sweeper inspects per lock hold, so a
// sweep never stalls a shard's writers for long.
const sweepChunk = 1024

// sweepLoop drops expired keys every interval until Close.
func (b *Backend) sweepLoop(interval time.Duration) {
	defer b.sweeping.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.sweep()
		}
	}
}

// sweep makes one pass over every shard, stopping early on Close.
func (b *Backend) sweep() {
	for i := range b.shards {
		for next := 1; next > 0; {
			select {
			case <-b.stop:
				return
			default:
			}
			next = b.shards[i].sweepChunk(next, b.now())
		}
	}
}

// sweepChunk removes the expired entries among sweepChunk slots from slot
// from on and returns the slot to continue with, or 0 at the end of the slab.
func (s *shard) sweepChunk(from int, now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := min(from+sweepChunk, len(s.entries))
	for i := from; i < end; i++ {
		if e := &s.entries[i]; e.live && e.expired(now) {
			s.removeLocked(int32(i))
			s.stats.expired++
		}
	}
	if end >= len(s.entries) {
		return 0
	}
	return end
}
