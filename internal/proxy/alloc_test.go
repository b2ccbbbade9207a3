package proxy

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/udpio"
)

// hotBatch is a worker over fake sockets and a non-recording egress, with
// one batch of unstamped V2 frames spread over the 16 shard groups.
type hotBatch struct {
	w    *worker
	msgs []udpio.Message
	e    *fakeEgress
	next uint64
}

func newHotBatch(tb testing.TB, n, payloadLen int) *hotBatch {
	fp := newFakeProxy(tb, testOptions(), Deps{})
	fp.egress.record = false
	h := &hotBatch{w: fp.workers[0], e: fp.egress, msgs: make([]udpio.Message, n)}
	for i := range h.msgs {
		b := txFrame(txid(uint64(i), uint32(i%16), 4), [32]byte{}, payload(payloadLen, byte(i)))
		h.msgs[i] = udpio.Message{Buf: b, N: len(b)}
	}
	return h
}

// renew gives every frame of the batch a TxID never seen before (bytes
// 12–19 carry a counter; the shard bits in bytes 8–11 stay) and clears the
// stamp the previous run wrote.
func (h *hotBatch) renew() {
	for i := range h.msgs {
		h.next++
		b := h.msgs[i].Buf
		binary.BigEndian.PutUint64(b[12:], h.next)
		clear(b[40:56])
	}
}

// unstamp clears the stamps of the previous run, keeping the TxIDs (so the
// next run is all tier-1 hits).
func (h *hotBatch) unstamp() {
	for i := range h.msgs {
		clear(h.msgs[i].Buf[40:56])
	}
}

func TestProcessAllocsNothing(t *testing.T) {
	h := newHotBatch(t, 64, 256)
	h.renew()
	h.w.process(h.msgs) // warm up: flows created, scratch sized
	for _, c := range []struct {
		name  string
		setup func()
	}{
		{"novel", h.renew},
		{"tier-1 hit", h.unstamp},
		{"relay", func() {}}, // stamped by the previous run: relayed verbatim
	} {
		if a := testing.AllocsPerRun(200, func() { c.setup(); h.w.process(h.msgs) }); a != 0 {
			t.Errorf("%s: %v allocations per batch of %d", c.name, a, len(h.msgs))
		}
	}
}

func TestProcessAllocsNothingFragmenting(t *testing.T) {
	h := newHotBatch(t, 8, 8000)
	h.renew()
	h.w.process(h.msgs)
	if a := testing.AllocsPerRun(100, func() { h.renew(); h.w.process(h.msgs) }); a != 0 {
		t.Errorf("%v allocations per batch of 8 fragmented frames", a)
	}
}

// BenchmarkProcessNovelFresh is BenchmarkProcess/novel with the default
// tier-1 capacity (1 Mi) never full, the regime of a bench/ratio round:
// inserts without evictions. The proxy is rebuilt (untimed) before the set
// would fill (its TxIDs may repeat those of the one before).
func BenchmarkProcessNovelFresh(b *testing.B) {
	o := testOptions()
	o.DedupCap = DefaultDedupCap
	var h *hotBatch
	fresh := func() {
		fp := newFakeProxy(b, o, Deps{})
		fp.egress.record = false
		h = &hotBatch{w: fp.workers[0], msgs: make([]udpio.Message, 64)}
		for i := range h.msgs {
			buf := txFrame(txid(uint64(i), uint32(i%16), 4), [32]byte{}, payload(256, byte(i)))
			h.msgs[i] = udpio.Message{Buf: buf, N: len(buf)}
		}
	}
	perSet := DefaultDedupCap / 64 * 3 / 4 // batches before the set is ¾ full
	var work time.Duration
	n := 0
	for i := 0; b.Loop(); i++ {
		if i%perSet == 0 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		h.renew()
		start := time.Now()
		h.w.process(h.msgs)
		work += time.Since(start)
		n += len(h.msgs)
	}
	b.ReportMetric(float64(work.Nanoseconds())/float64(n), "ns/datagram")
}

// BenchmarkProcess measures the worker path per datagram (fake egress, no
// syscalls): 64-frame batches of 256-byte payloads.
func BenchmarkProcess(b *testing.B) {
	for _, c := range []struct {
		name  string
		setup func(h *hotBatch)
	}{
		{"novel", (*hotBatch).renew},
		{"hit", (*hotBatch).unstamp},
		{"relay", func(*hotBatch) {}},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := newHotBatch(b, 64, 256)
			h.renew()
			h.w.process(h.msgs)
			b.ReportAllocs()
			var work time.Duration
			n := 0
			for b.Loop() {
				c.setup(h)
				start := time.Now()
				h.w.process(h.msgs)
				work += time.Since(start)
				n += len(h.msgs)
			}
			b.ReportMetric(float64(work.Nanoseconds())/float64(n), "ns/datagram")
		})
	}
}
