// Package txidset is the two-tier TxID claim set behind the dedup gates
// (proxy ingress, listener egress): it decides which instance of a fleet
// forwards a TxID.
//
// # Tier 1
//
// Local is an in-process set of [32]byte TxIDs with a capacity and a TTL.
// It is split into power-of-two shards chosen by a seeded hash of all 32
// bytes (so neither crafted TxIDs nor a process that serves only some
// multicast groups, which the leading TxID bits select, can skew it). Each
// shard preallocates its entries (40 bytes: key and int64 expiry), a
// linear-probing index of uint32 slots (tag and entry number, load <= 0.75,
// backward-shift deletion, no tombstones) and the recency queue: a FIFO
// ring of (expiry, entry) pairs, 12 bytes per entry, plus a min-heap an
// eighth that size for entries re-queued after hits (local_recency.go).
// That is about 62 bytes per entry, 62 MiB for 1,048,576 entries, mapped
// off the Go heap with transparent huge pages when the set is large
// (local_arena.go). Eviction is exact LRU per shard: a hit refreshes
// recency and extends the expiry to now+TTL ("TTL since last sighting"),
// and the victim is the entry with the earliest expiry, i.e. the least
// recently seen. A hit takes no lock: it reads under a per-shard sequence
// counter and raises its entry's expiry with a CAS, writing no shared cache
// line, so hits scale with cores; the queue learns of hits lazily when a
// writer settles its head. Inserts take the shard mutex. Nothing allocates
// after NewLocal. Benchmarked against hashicorp/golang-lru/v2 behind the
// same sharding (local_bench_test.go), this table is kept: 2–3× faster on
// hits and inserts, allocation-free, and its hits scale with cores where
// the mutex-guarded list's do not.
//
// # Claims
//
// Claimer.ClaimBatch reads the clock once, checks-and-inserts every TxID
// in tier 1 (a hit, or a later copy in the same batch, is LocalHit), then
// sends all misses to the shared cache.Backend as create-only SetNX of
// Prefix+hex(TxID) in one round trip (SetNXBatch, or a loop of SetNX when
// the backend is not a cache.Batcher) under OpTimeout. Because a miss is
// recorded in tier 1 before the round trip, two goroutines of one process
// never both forward a TxID. Results: Won and FailOpen forward, Lost and
// LocalHit drop. Each receive loop keeps its own Claimer (key buffer and
// []cache.Op reused); Set.ClaimBatch and Set.Claim use a pooled one. A
// backend opened from BackendConfig bounds its own round trips by its
// OpTimeout, so when that is within the Set's no context is derived per
// round trip and a Claimer's batch allocates nothing, Redis included
// (TestRedisClaimBatchAllocsNothing); a Backend passed in gets a
// context.WithTimeout per round trip.
//
// # Fail open and back-off
//
// A backend error (whole batch or per key), the OpTimeout deadline, or a
// backend that is down makes the misses FailOpen: forwarded, counted, still
// recorded in tier 1. After Options.Failures consecutive failed round trips
// the backend is marked down: claims skip it and fail open at once, and a
// background probe calls Healthy with exponential backoff (ReconnectMin to
// ReconnectMax) until it answers, then claims use it again. A round trip cut
// short by the caller's own context does not count as a failure.
//
// # Degraded start
//
// Given a cache.Config instead of a Backend, New never fails because the
// backend is unreachable: the Set runs tier 1 only (State "degraded",
// Healthy false, backend_up 0) while cache.Open is retried in the
// background with the same backoff, and switches over once it succeeds.
//
// # Marks
//
// Mark and MarkBatch queue courtesy "seen" writes into another gate's
// namespace (MarkPrefix, e.g. a listener marking the proxies' "bsp:tx:")
// in a bounded ring, written create-only in batches by MarkWorkers
// goroutines. A full queue drops and counts; marking never blocks.
//
// # Metrics
//
// With Options.Registerer: local_hits_total, won_total, lost_total,
// fail_open_total, backend_round_trips_total, backend_errors_total,
// batch_size and backend_latency_seconds histograms, backend_up,
// local_entries, local_capacity, local_evictions_total,
// local_expirations_total, mark_written_total and
// mark_dropped_total{reason}. Claim counters are added once per batch;
// tier-1 figures are read at scrape time.
package txidset
