// Package proxy is the ingress gate of mcdedup: it receives frames from
// submitters (UDP, optionally TCP), drops TxIDs the fleet already forwarded,
// stamps each frame with its flow HashKey and SeqNum, derives the group from
// the TxID and multicasts the frame on every egress interface.
//
// # The hot loop
//
// Each worker owns one ingress socket (SO_REUSEPORT), one egress
// (fabric.Egress: a socket per interface), one txidset.Claimer and
// preallocated scratch. The UDP sockets, ingress and egress, are blocking
// ones outside the Go runtime's poller (udpio.Options.Blocking): the ops
// server, the TCP listener and backend connections keep goroutines waiting
// in the poller, and every datagram on a poller-registered hot socket would
// wake an idle thread for nothing (see package udpio). Per batch, with no
// goroutine between read and write:
//
//	udpio ReadBatch (recvmmsg, up to -batch datagrams)
//	→ classify each: frame.Peek/Parse (views, no copy) and the table below
//	→ ONE Claimer.ClaimBatch for every ID to claim (tier-1, then one
//	  pipelined backend round trip for the tier-1 misses; errors fail open)
//	→ in arrival order: stamp in place (bytes 40–55) or cut into fragments,
//	  queue a message per datagram (views into the receive buffers; fragments
//	  in a per-worker arena)
//	→ Egress.Send (sendmmsg per interface; partial writes retried)
//	→ metrics added once from per-batch counts
//
// Nothing on this path allocates per datagram (tests pin it with
// testing.AllocsPerRun), except creating a flow.
//
// With a claim backend, a socket has several readers (-readers, default 8
// with a backend, else 1) and bigger batches (-batch 256 rather than 64):
// workers that take turns on the socket's
// ReadBatch, each with its own egress and claimer, so that while one waits
// for its round trip another reads and processes the next batch. Each still
// runs read → claim → send itself; frames of one flow may then leave out of
// arrival order, with SeqNums still gapless and unique.
//
// # Classification
//
//	input (byte 6)               condition             action                                      group
//	V2 tx                        SeqNum = 0            claim TxID; won/fail-open: stamp, forward   shard(TxID)
//	                                                   lost/tier-1 hit: drop "deduplicated"
//	V2 tx                        SeqNum ≠ 0            relay verbatim (no claim, no stamp)         shard(TxID)
//	V1 legacy                                          verbatim (no claim, no stamp)               shard(TxID)
//	V6 anchor                                          claim TxID; stamp always (ingredient 0xFFF9) 0xFFFE
//	V4 block                     -accept-control       claim ID; stamp (0xFFFE, coinbase 0xFFF8)   0xFFFE
//	V5 subtree data              -accept-control       stamp, no claim (0xFFFB, off-8 subtree)     0xFFFB
//	V4/V5                        SeqNum ≠ 0, -accept-control   relay verbatim                      as above
//	V4/V5                        no -accept-control    drop "unprivileged_control"
//	V3 fragment                  SeqNum ≠ 0            relay verbatim                              its original's
//	V3 fragment                  SeqNum = 0            drop "unstamped_fragment"
//	V8 bundle                    SeqNum ≠ 0            relay verbatim                              its GroupIdx
//	V8 bundle                    SeqNum = 0            drop "unsupported" (no coalescing)
//	V7 block header                                    drop "not_on_fabric"
//	V9 BEEF                                            drop "unsupported" (no object plane)
//	0x30 subtree-group announce  ≥ 64 bytes            verbatim (first 64 bytes)                   0xFFFC
//	0x10–0x13, 0x20, 0x40, …     other control         drop "unexpected_control"
//	malformed                                          drop frame.Reason(err): "short", "bad_magic", …
//	datagram cut by the buffer   Message.Trunc         drop "truncated"
//	egress not addressable       e.g. bundle 0xF000    drop "unaddressable"
//	too big for one datagram     not fragmentable      drop "oversize" (TCP input only)
//
// Groups come from frame.GroupIndexFor and HashKey ingredients from
// frame.SubtreeIngredient. Every input is counted exactly once: received =
// forwarded + deduplicated + dropped.
//
// # Flow identity and the flow table
//
// A flow is (proxy identity, groupIdx ingredient, subtree ingredient); its
// HashKey is frame.HashKey(SourceID(FlowSource), idx, subtree), computed once
// when the flow is created. FlowSource defaults to the primary address of
// the first egress interface (DefaultFlowSource) and must be unique per
// proxy instance: two proxies on one host must set -flow-source.
//
// The flow table is shared by all workers: up to 64 shards, each a mutex
// guarding a map of flows and their LRU list. A worker groups the frames a
// batch will stamp by flow and reserves each flow's SeqNums under its shard
// lock once per batch, exactly as many as it then stamps in batch order (one
// per fragment of a fragmented frame), so SeqNums run 1, 2, 3 … with no gap
// and no reuse; a datagram the kernel then rejects is a real loss, counted
// in send_errors_total. Across
// workers the order on the wire may interleave. The table is bounded:
// -max-flows split evenly over the shards, the least recently used flow of a
// full shard evicted (flows_evicted_total), and flows idle for -flow-idle
// removed by a sweep that a worker runs between batches at most every
// -flow-idle/4 (no ticker goroutine: a pending timer makes the Go runtime
// park an idle thread in epoll_wait, where the readiness edges of any busy
// poller-registered socket would wake it tens of thousands of times a
// second). A flow the cap evicted leaves a tomb (its HashKey, next SeqNum
// and last use; a FIFO of up to the shard's flow cap, allocated at the
// shard's first eviction): created again within -flow-idle of its last use,
// it continues its numbering (flows_resumed_total), so that no
// HashKey‖SeqNum is used twice while a listener's window or an endpoint's
// cache may hold the first use. With -state-file the table is saved at
// shutdown and read back as tombs at the next start (flowstate.go), so
// numbering also survives a restart. A flow created after -flow-idle, or whose
// tomb more recent evictions pushed out, starts over at SeqNum 1 under the
// same HashKey; listeners re-baseline on it, and the idle default (15 min)
// exceeds the longest retry-endpoint frame TTL (blocks, 10 min) so that no
// endpoint still caches an old frame under a reused HashKey‖SeqNum.
//
// # Fragmentation
//
// A V2, V4 or V5 frame to stamp whose payload is above
// frame.FragDataSize(-frag-mtu) is claimed once and cut into BRC-130
// fragments (frame.AppendFragment) in the worker's arena, each stamped with
// its own consecutive SeqNum; relayed and legacy frames are never cut. V6
// anchors cannot be fragmented (no OrigFrameVer) and go out whole.
//
// # TCP ingress
//
// -tcp-listen accepts length-delimited frames (PROTOCOL §3.4): 44 bytes are
// read, byte 6 picks the header length (64 bytes in all for a 0x30
// announce), frame.Limits.Size validates PayloadLen against -max-payload
// before anything is allocated, and a frame larger than the 64 KiB
// connection buffer gets a buffer that doubles as its bytes arrive. Each
// connection has a worker of its own: the frames one read brought in (up to
// 64) share one process call and one claim round trip. A frame must arrive
// within -tcp-read-timeout of its first byte, and one must start within
// -tcp-idle-timeout; connections above -tcp-max-conns are closed at once.
// A malformed stream (bad magic, unknown type, oversize length) is counted
// as one drop under its reason and closes the connection.
//
// # Lifecycle
//
// New validates the Options, binds every socket and starts the claim set
// (a backend that is down leaves it degraded and reconnecting in the
// background: the proxy forwards, failing open). Run serves until its
// context ends, then drains: readiness turns "draining" (503), TCP accept
// stops, UDP is processed until the sockets were quiet for DrainQuiet or
// DrainTimeout passed; then the sockets close, the claim set flushes its
// marks and Run returns nil. Close stops at once.
package proxy
