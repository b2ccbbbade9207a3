package memory

// Stats is a snapshot of a Backend's size and event counts.
type Stats struct {
	// Keys is the number of stored keys, including expired keys not yet
	// dropped by a read or the sweeper.
	Keys int
	// Bytes is the charged size of the stored keys (see EntryOverhead).
	Bytes int64
	// Evicted counts keys removed to respect MaxKeys or MaxBytes.
	Evicted uint64
	// Expired counts expired keys dropped by reads, writes or the sweeper.
	Expired uint64
	// Rejected counts writes refused with ErrTooLarge.
	Rejected uint64
}

// Stats returns the current totals over all shards; Keys and Bytes are zero
// after Close.
func (b *Backend) Stats() Stats {
	var st Stats
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		st.Keys += s.keys
		st.Bytes += s.bytes
		st.Evicted += s.stats.evicted
		st.Expired += s.stats.expired
		st.Rejected += s.stats.rejected
		s.mu.Unlock()
	}
	return st
}

// Len returns the number of stored keys, as Stats().Keys.
func (b *Backend) Len() int { return b.Stats().Keys }
