package loadgen

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"

	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// counters are one sender's running totals, updated once per batch and read
// by the progress reporter.
type counters struct {
	frames, sent, unique, bytes, errors, holes atomic.Uint64
}

// flow is the stamping state of one (shard, subtree) flow of a sender.
type flow struct {
	hashKey, seq uint64
}

// sender generates frames into preallocated buffers and sends every batch
// from each of its outputs (the dup-sources sockets). It is owned by one
// goroutine.
type sender struct {
	id, total int // this sender's index and the number of senders
	cfg       *Config
	table     frame.GroupTable
	bits      uint
	multicast bool
	outs      []output

	rng      *rand.Rand
	bufs     [][]byte
	msgs     []udpio.Message
	ring     [][32]byte // recent fresh TxIDs, for DupRatio
	ringNext int
	subtrees [][32]byte       // shared, read-only
	flows    map[uint32]*flow // stamping only; bounded by groups × subtrees
	src      [16]byte         // flow identity when stamping
	made     uint64           // frames generated so far
	sizes    uint64           // PayloadMax − PayloadMin + 1
	c        counters
}

func newSender(id int, cfg *Config, subtrees [][32]byte) *sender {
	table, _ := cfg.Fabric.Table() // validated
	s := &sender{
		id: id, total: cfg.Senders, cfg: cfg, table: table, bits: cfg.Fabric.Bits(),
		multicast: cfg.Proto == ProtoMulticast,
		rng:       rand.New(rand.NewPCG(cfg.Seed, uint64(id)+0x6c6f6164)),
		bufs:      make([][]byte, cfg.Batch),
		msgs:      make([]udpio.Message, cfg.Batch),
		subtrees:  subtrees,
		sizes:     uint64(cfg.PayloadMax-cfg.PayloadMin) + 1,
	}
	slab := make([]byte, cfg.Batch*(frame.HeaderLenStd+cfg.PayloadMax))
	for i := range s.bufs {
		n := frame.HeaderLenStd + cfg.PayloadMax
		s.bufs[i] = slab[i*n : (i+1)*n : (i+1)*n]
		wire.Init(s.bufs[i])
	}
	if cfg.DupRatio > 0 {
		s.ring = make([][32]byte, 0, RingSize)
	}
	if cfg.Stamp {
		s.flows = make(map[uint32]*flow)
		s.src = frame.SourceID(flowSource(cfg.FlowSource, id))
	}
	return s
}

// nextTxID returns a fresh random TxID, or with probability DupRatio a
// recent one, and whether it is fresh.
func (s *sender) nextTxID(txid *[32]byte) (fresh bool) {
	if s.ring != nil && len(s.ring) > 0 && s.rng.Float64() < s.cfg.DupRatio {
		*txid = s.ring[s.rng.IntN(len(s.ring))]
		return false
	}
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(txid[i:], s.rng.Uint64())
	}
	if s.ring != nil {
		if len(s.ring) < RingSize {
			s.ring = append(s.ring, *txid)
		} else {
			s.ring[s.ringNext] = *txid
			s.ringNext = (s.ringNext + 1) % RingSize
		}
	}
	return true
}

// stamp returns the HashKey and next SeqNum of the frame's flow, leaving a
// hole first when the SkipEvery schedule says so.
func (s *sender) stamp(shard uint16, sub uint32) (hashKey, seq uint64) {
	key := uint32(shard)<<16 | sub
	f := s.flows[key]
	if f == nil {
		f = &flow{hashKey: frame.HashKey(s.src, uint32(shard), s.subtrees[sub])}
		s.flows[key] = f
	}
	if every := s.cfg.SkipEvery; every > 0 && (s.made+1)%every == 0 && f.seq > 0 {
		f.seq++
		s.c.holes.Add(1)
	}
	f.seq++
	return f.hashKey, f.seq
}

// build generates n frames into the batch buffers and returns how many
// carry a fresh TxID and their total size. It does not allocate (except for
// a flow's first frame when stamping).
func (s *sender) build(n int) (fresh, size uint64) {
	var txid [32]byte
	for i := range n {
		if s.nextTxID(&txid) {
			fresh++
		}
		sub := uint32(0)
		if len(s.subtrees) > 1 {
			sub = uint32(binary.BigEndian.Uint64(txid[24:]) % uint64(len(s.subtrees)))
		}
		shard := wire.Shard(&txid, s.bits)
		var hk, seq uint64
		if s.flows != nil {
			hk, seq = s.stamp(shard, sub)
		}
		plen := s.cfg.PayloadMin
		if s.sizes > 1 {
			plen += int(s.rng.Uint64N(s.sizes))
		}
		m := &s.msgs[i]
		m.Buf = wire.Set(s.bufs[i], &txid, &s.subtrees[sub], hk, seq, plen)
		if s.multicast {
			m.Addr = s.table.Addr(shard)
		}
		size += uint64(len(m.Buf))
		s.made++
	}
	return fresh, size
}

// stampTimes writes the send time and the global frame index into the n
// frames built last: frame k of sender i has index k×senders+i.
func (s *sender) stampTimes(n int, nowNanos int64) {
	first := s.made - uint64(n)
	for i := range n {
		wire.SetStamp(s.msgs[i].Buf, nowNanos, (first+uint64(i))*uint64(s.total)+uint64(s.id))
	}
}

// sendBatch sends the n frames built last from every output. It returns the
// first fatal error, after which the sender stops.
func (s *sender) sendBatch(n int) error {
	var sent, failed uint64
	var fatal error
	for _, o := range s.outs {
		k, err := o.send(s.msgs[:n])
		sent += uint64(k)
		if err != nil {
			failed += uint64(n - k)
			if o.fatal(err) && fatal == nil {
				fatal = err
			}
		}
	}
	s.c.sent.Add(sent)
	if failed > 0 {
		s.c.errors.Add(failed)
	}
	return fatal
}

// closeOutputs closes every output of the sender.
func (s *sender) closeOutputs() {
	for _, o := range s.outs {
		o.close()
	}
}

// makeSubtrees returns n random SubtreeIDs (one zero ID for n = 0).
func makeSubtrees(n int, seed uint64) [][32]byte {
	if n == 0 {
		return make([][32]byte, 1)
	}
	rng := rand.New(rand.NewPCG(seed, 0x73756274))
	ids := make([][32]byte, n)
	for i := range ids {
		for j := 0; j < 32; j += 8 {
			binary.LittleEndian.PutUint64(ids[i][j:], rng.Uint64())
		}
	}
	return ids
}

// flowSource returns the flow identity of sender i.
func flowSource(base netip.Addr, i int) netip.Addr {
	for range i {
		base = base.Next()
	}
	return base
}
