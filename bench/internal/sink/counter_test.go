package sink

import (
	"testing"

	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/frame"
)

// crafted is one frame of a test stream.
type crafted struct {
	tx      byte   // TxID distinguishing byte
	hashKey uint64 // flow; 0 = unstamped
	seq     uint64
}

// build returns the frame for c, sent at sendNanos.
func (c crafted) build(sendNanos int64) []byte {
	buf := make([]byte, frame.HeaderLenStd+64)
	wire.Init(buf)
	txid, subtree := [32]byte{0: c.tx, 31: 0x5A}, [32]byte{}
	f := wire.Set(buf, &txid, &subtree, c.hashKey, c.seq, 64)
	wire.SetStamp(f, sendNanos, uint64(c.tx))
	return f
}

func TestCounterDuplicatesGapsReorders(t *testing.T) {
	const A, B = 0xAAAA, 0xBBBB
	stream := []crafted{
		{1, A, 1}, {2, A, 2}, {3, A, 5}, // gap: 3 and 4 missing
		{4, A, 4},            // reorder: fills 4
		{4, A, 4},            // TxID duplicate and (HashKey,SeqNum) duplicate
		{5, A, 6}, {6, A, 6}, //            new TxID, sequence duplicate
		{7, B, 3},                              //            flow B first seen at 3: 1 and 2 count missing
		{8, B, 1},                              //            reorder
		{1, 0, 0},                              //            unstamped, duplicate TxID
		{9, A, 6 + Window + 10},                //         gap of Window+9
		{10, A, 5},                             //         more than Window below the highest: too old
		{11, A, 6 + Window + 10 + MaxJump + 1}, // wild jump: re-baseline, not a gap
	}
	c := NewCounter(1000, 1000, 0)
	now := int64(1_000_000_000)
	for i, s := range stream {
		c.Observe(s.build(now), now+int64(i+1)*1000)
	}
	c.Observe([]byte("not a frame at all, long enough to have a magic"), now)
	got, seq := c.Counts(), c.Seq()
	wantCounts := Counts{Frames: 14, UniqueTxIDs: 11, DuplicateTxIDs: 2, Malformed: 1, Unstamped: 1}
	got.Bytes = 0
	if got != wantCounts {
		t.Errorf("counts %+v\nwant   %+v", got, wantCounts)
	}
	want := SeqStats{
		Flows: 2, Gaps: 3, GapMissing: 2 + 2 + Window + 9, Reorders: 2, SeqDuplicates: 2, TooOld: 1, FlowResets: 1,
	}
	want.Lost = want.GapMissing - want.Reorders
	if seq != want {
		t.Errorf("seq %+v\nwant %+v", seq, want)
	}
	h := c.Latency()
	if h.Count() != 13 || h.Min() != 1000 || h.Max() != 13000 {
		t.Errorf("latency: n %d min %d max %d", h.Count(), h.Min(), h.Max())
	}
}

// TestWindowReuse checks that ring slots of SeqNums a window apart are not
// mistaken for each other.
func TestWindowReuse(t *testing.T) {
	tr := newSeqTracker(10)
	for s := uint64(1); s <= 3*Window; s++ {
		if s%Window == 7 {
			continue // hole at 7, Window+7, 2·Window+7
		}
		tr.observe(1, s)
	}
	tr.observe(1, 2*Window+7) // late fill of the newest hole: a reorder
	tr.observe(1, 2*Window+8) // seen: a duplicate
	st := tr.stats()
	if st.Gaps != 3 || st.GapMissing != 3 || st.Reorders != 1 || st.SeqDuplicates != 1 || st.Lost != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestCounterCaps(t *testing.T) {
	c := NewCounter(2, 1, 0)
	for i, s := range []crafted{{1, 1, 1}, {2, 2, 1}, {3, 1, 2}, {1, 1, 3}} {
		c.Observe(s.build(0), int64(i)) // no timestamp
	}
	got, seq := c.Counts(), c.Seq()
	if got.UniqueTxIDs != 2 || got.UntrackedTxIDs != 1 || got.DuplicateTxIDs != 1 || got.NoTimestamp != 4 {
		t.Errorf("counts %+v", got)
	}
	if seq.Flows != 1 || seq.UntrackedFlows != 1 {
		t.Errorf("seq %+v", seq)
	}
	c.ObserveTruncated()
	if c.Counts().Truncated != 1 || c.Frames() != 5 {
		t.Errorf("truncated: %+v", c.Counts())
	}
}

func TestCounterSeries(t *testing.T) {
	c := NewCounter(100, 100, 0)
	base := int64(5_000_000_000)
	// 3 frames in interval 0, none in interval 1, 2 in interval 2.
	for i, at := range []int64{0, 10e6, 99e6, 200e6, 250e6} {
		f := crafted{tx: byte(i + 1)}.build(base + at - int64(i+1)*1000)
		c.Observe(f, base+at)
	}
	pts := c.Series()
	if len(pts) != 2 || pts[0].T != 0 || pts[0].N != 3 || pts[1].T != 0.2 || pts[1].N != 2 {
		t.Fatalf("series %+v", pts)
	}
	if pts[1].P50 < 4 || pts[1].P50 > 4.07 || pts[1].Max != 5 { // P50 within the bucket width
		t.Errorf("interval 2 latency: %+v", pts[1])
	}
	if c.Span() != 0.25 {
		t.Errorf("Span = %v", c.Span())
	}
}

// TestObserveAllocs pins the steady state: frames of known flows and
// TxIDs do not allocate.
func TestObserveAllocs(t *testing.T) {
	c := NewCounter(100, 100, 0)
	f := crafted{1, 7, 1}.build(1)
	c.Observe(f, 2)
	if n := testing.AllocsPerRun(200, func() { c.Observe(f, 3) }); n != 0 {
		t.Errorf("Observe allocates %v per frame", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	c := NewCounter(DefaultMaxTxIDs, DefaultMaxFlows, 1<<20)
	frames := make([][]byte, 4096)
	for i := range frames {
		buf := make([]byte, frame.HeaderLenStd+256)
		wire.Init(buf)
		txid := [32]byte{byte(i), byte(i >> 8), 3}
		frames[i] = wire.Set(buf, &txid, &[32]byte{}, uint64(i%64+1), uint64(i/64+1), 256)
		wire.SetStamp(frames[i], 1, uint64(i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Observe(frames[i%len(frames)], 1000)
		i++
	}
}
