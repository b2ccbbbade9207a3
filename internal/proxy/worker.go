package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/udpio"
	"github.com/mcdedup/mcdedup/txidset"
)

// Egress sends batches of frames to their group addresses (Message.Addr) on
// every egress interface. *fabric.Egress implements it; tests use fakes.
// One worker owns one Egress.
type Egress interface {
	// Send writes every message on every interface and returns the
	// datagrams sent and lost over all interfaces.
	Send(msgs []udpio.Message) (sent, failed int, err error)
	// Close releases the egress sockets.
	Close() error
}

// core is what the workers share: fixed at New, except the flow table and
// the metrics, which are safe for concurrent use.
type core struct {
	cls   classifier
	table frame.GroupTable
	flows *flowTable
	m     *metrics
	log   *slog.Logger
	epoch time.Time // origin of the flow table's clock
	// claimCtx bounds backend claims; it ends at Close, not at the start of
	// a drain, so frames processed while draining are still deduplicated.
	claimCtx context.Context
	activity atomic.Int64 // clock reading of the last processed batch (drain)

	// Idle flows are swept by the workers themselves, at most every
	// sweepGap, rather than by a goroutine on a ticker: a pending timer
	// makes the Go runtime park an idle thread in epoll_wait, where every
	// readiness edge of the busy sockets (a datagram in, a send buffer
	// freed) wakes it — measured at 22,000 wake-ups a second and a quarter
	// of the loopback throughput.
	flowIdle, sweepGap int64
	nextSweep          atomic.Int64 // clock reading after which a worker sweeps
}

// maybeSweep expires idle flows when a sweep is due; one worker does it.
func (c *core) maybeSweep(now int64) {
	next := c.nextSweep.Load()
	if now < next || !c.nextSweep.CompareAndSwap(next, now+c.sweepGap) {
		return
	}
	c.flows.expire(now - c.flowIdle)
}

// now returns the flow table's clock: nanoseconds since epoch, monotonic.
func (c *core) now() int64 { return int64(time.Since(c.epoch)) }

// worker processes batches of input frames: parse, classify, claim once
// per batch, stamp, fragment, route and send, with metrics flushed once per
// batch. A worker is owned by one goroutine (a UDP reader or a TCP
// connection); its scratch is allocated once, so process allocates nothing
// per frame.
type worker struct {
	c       *core
	claimer *txidset.Claimer // nil: dedup off, every claim forwards
	egress  Egress
	in      *ingress // the UDP socket it reads; nil for a TCP connection's worker

	frames  []frame.Frame    // parsed input, by position in the batch
	plans   []plan           // classification, by position in the batch
	ids     [][32]byte       // IDs to claim in this batch
	results []txidset.Result // claim results, parallel to ids
	out     []udpio.Message  // datagrams to send; views of inputs or arena
	bf      batchFlows       // the batch's stamped frames grouped by flow
	arena   []byte           // fragments being sent
	used    int              // bytes of arena in use
	t       tally            // this batch's counts
	failing bool             // last Send failed (log on state change)
	_       [0]func()        // not comparable
}

// outBatch is the most datagrams a worker hands to one Send call, and
// arenaFrags the most fragments it buffers before sending them.
const (
	outBatch   = 256
	arenaFrags = 64
)

// newWorker returns a worker for input batches of up to batch frames.
func newWorker(c *core, claimer *txidset.Claimer, egress Egress, batch int) *worker {
	w := &worker{
		c:       c,
		claimer: claimer,
		egress:  egress,
		frames:  make([]frame.Frame, batch),
		plans:   make([]plan, batch),
		ids:     make([][32]byte, 0, batch),
		results: make([]txidset.Result, batch),
		out:     make([]udpio.Message, 0, max(outBatch, batch)),
		bf:      newBatchFlows(batch),
		t:       tally{drops: make([]uint64, len(reasonLabels))},
	}
	if c.cls.fragSize > 0 {
		w.arena = make([]byte, arenaFrags*(frame.HeaderLenFrag+c.cls.fragSize))
	}
	return w
}

// process handles one batch of received messages (at most the batch size
// the worker was built for) in arrival order and sends what it forwards.
// Message buffers are modified in place (stamping) and must stay untouched
// until process returns. It returns the clock reading it stamped with.
func (w *worker) process(msgs []udpio.Message) (now int64) {
	w.t.reset()
	w.ids = w.ids[:0]
	for i := range msgs {
		m := &msgs[i]
		w.t.received++
		w.t.bytes += uint64(m.N)
		if m.Trunc {
			w.plans[i] = drop(reasonTruncated)
			continue
		}
		p := w.c.cls.classify(m.Buf[:m.N], &w.frames[i])
		if p.act == actClaim && w.claimer != nil {
			p.claim = int32(len(w.ids))
			w.ids = append(w.ids, w.frames[i].ID)
		}
		w.plans[i] = p
	}
	if len(w.ids) > 0 {
		w.claimer.ClaimBatch(w.c.claimCtx, w.ids, w.results)
	}
	now = w.c.now()
	for i := range msgs {
		if p := &w.plans[i]; w.stamps(p) {
			f := &w.frames[i]
			sub := frame.SubtreeIngredient(f)
			p.flow = w.bf.add(p.hashIdx, &sub, w.seqNums(f))
		}
	}
	w.bf.reserve(w.c.flows, now)
	for i := range msgs {
		w.handle(&msgs[i], &w.frames[i], &w.plans[i])
	}
	w.bf.reset()
	w.flush()
	w.c.m.flush(&w.t, len(msgs))
	w.c.activity.Store(now)
	w.c.maybeSweep(now)
	return now
}

// stamps reports whether handle will stamp the frame planned p: a claim
// that forwards, or a frame stamped without a claim.
func (w *worker) stamps(p *plan) bool {
	switch p.act {
	case actStamp:
		return true
	case actClaim:
		return p.claim < 0 || w.results[p.claim].Forward()
	}
	return false
}

// seqNums returns how many SeqNums stamping f takes: one per fragment.
func (w *worker) seqNums(f *frame.Frame) uint64 {
	if !w.needsFragments(f) {
		return 1
	}
	return uint64(frame.FragmentCount(len(f.Payload), w.c.cls.fragSize))
}

// handle carries out the plan of one input frame; the SeqNums of the frames
// it stamps are reserved (w.bf).
func (w *worker) handle(m *udpio.Message, f *frame.Frame, p *plan) {
	t := &w.t
	switch p.act {
	case actDrop:
		t.drop(p.reason)
	case actClaim:
		if p.claim >= 0 {
			switch w.results[p.claim] {
			case txidset.Lost, txidset.LocalHit:
				t.deduplicated++
				return
			case txidset.FailOpen:
				t.failOpen++
			}
		}
		w.stamp(f, p)
	case actStamp:
		w.stamp(f, p)
	case actRelay:
		t.relayed++
		w.forward(f.Raw, p.egress)
	case actLegacy:
		t.legacy++
		w.forward(f.Raw, p.egress)
	case actAnnounce:
		t.announces++
		w.forward(m.Buf[:announceLen], p.egress)
	}
}

// forward queues one input frame, unchanged, for its group.
func (w *worker) forward(b []byte, egress uint16) {
	w.t.forwarded++
	w.queue(b, egress)
}

// stamp stamps the frame with its flow's HashKey and next SeqNum, or cuts
// it into fragments with one SeqNum each when its payload is above the
// fragment size, and queues the result. classify has made sure it fits.
func (w *worker) stamp(f *frame.Frame, p *plan) {
	w.t.forwarded++
	if !w.needsFragments(f) {
		hk, seq := w.bf.take(p.flow, 1)
		frame.Stamp(f.Raw, hk, seq)
		w.queue(f.Raw, p.egress)
		return
	}
	size := w.c.cls.fragSize
	n := frame.FragmentCount(len(f.Payload), size)
	hk, first := w.bf.take(p.flow, uint64(n))
	fragLen := frame.HeaderLenFrag + size
	for i := range n {
		if w.used+fragLen > len(w.arena) {
			w.flush()
		}
		b, err := frame.AppendFragment(w.arena[w.used:w.used], f, size, i)
		if err != nil { // classify admits only fragmentable frames of ≤ 65535 fragments
			panic("proxy: fragment: " + err.Error())
		}
		frame.Stamp(b, hk, first+uint64(i))
		w.used += len(b)
		w.queue(b, p.egress)
	}
	w.t.fragments += uint64(n)
}

// needsFragments reports whether f must be sent as BRC-130 fragments.
func (w *worker) needsFragments(f *frame.Frame) bool {
	return len(f.Payload) > w.c.cls.fragSize && w.c.cls.fragments(f, actStamp)
}

// fragmentable reports whether frames of version v can be cut into BRC-130
// fragments by the proxy (V6 has no OrigFrameVer; V9 is not forwarded).
func fragmentable(v uint8) bool {
	return v == frame.VerTx || v == frame.VerBlock || v == frame.VerSubtree
}

// queue appends one datagram to the outgoing batch, sending the batch first
// when it is full.
func (w *worker) queue(b []byte, egress uint16) {
	if len(w.out) == cap(w.out) {
		w.flush()
	}
	w.out = append(w.out, udpio.Message{Buf: b, Addr: w.c.table.Addr(egress)})
}

// flush sends the queued datagrams and frees the fragment arena.
func (w *worker) flush() {
	if len(w.out) == 0 {
		return
	}
	sent, failed, err := w.egress.Send(w.out)
	w.t.sent += uint64(sent)
	w.t.sendErrors += uint64(failed)
	clear(w.out) // drop references to input buffers
	w.out = w.out[:0]
	w.used = 0
	if (err != nil) != w.failing {
		w.failing = err != nil
		w.logSend(err)
	}
}

// logSend logs a change of the egress state.
//
//go:noinline
func (w *worker) logSend(err error) {
	switch {
	case err == nil:
		w.c.log.Info("egress sending again")
	case errors.Is(err, net.ErrClosed):
		w.c.log.Debug("egress closed", "err", err)
	default:
		w.c.log.Warn("egress send failing", "err", err)
	}
}
