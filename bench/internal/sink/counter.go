package sink

import (
	"github.com/cespare/xxhash/v2"

	"github.com/mcdedup/mcdedup/bench/internal/hist"
	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/frame"
)

// Interval is the width of one point of the latency time series.
const Interval = 100_000_000 // 100 ms in nanoseconds

// MaxPoints bounds the time series (one hour of 100 ms points).
const MaxPoints = 36000

// Point is the latency of the frames received in one Interval.
type Point struct {
	T             float64 // start of the interval, seconds since the first frame
	P50, P99, Max float64 // microseconds
	N             uint64  // frames with a timestamp
}

// Counts are the frame and TxID counts of a sink.
type Counts struct {
	// Frames counts datagrams (or TCP frames) received, Bytes their size.
	Frames uint64 `json:"frames"`
	Bytes  uint64 `json:"bytes"`
	// UniqueTxIDs counts TxIDs seen for the first time, DuplicateTxIDs
	// frames whose TxID was seen before, UntrackedTxIDs frames with a new
	// TxID after the set reached its cap (neither unique nor duplicate).
	UniqueTxIDs    uint64 `json:"unique_txids"`
	DuplicateTxIDs uint64 `json:"duplicate_txids"`
	UntrackedTxIDs uint64 `json:"untracked_txids"`
	// Malformed counts datagrams frame.Parse rejects, Truncated datagrams
	// larger than the receive buffer.
	Malformed uint64 `json:"malformed"`
	Truncated uint64 `json:"truncated"`
	// Unstamped counts frames without a SeqNum (no flow accounting);
	// NoTimestamp frames whose payload is too short for the send time.
	Unstamped   uint64 `json:"unstamped"`
	NoTimestamp uint64 `json:"no_timestamp"`
}

// Counter accounts received frames: TxIDs (bounded set of 64-bit
// fingerprints), per-flow SeqNums, latency from the embedded send time
// (overall and per Interval). It is not safe for concurrent use.
type Counter struct {
	maxTxIDs int
	txids    map[uint64]struct{}
	seq      *seqTracker
	c        Counts

	lat          hist.Hist // every frame
	cur          hist.Hist // frames of the current interval
	first, last  int64     // receive times (Unix ns) of the first and last frame
	curStart     int64     // start of the current interval
	points       []Point
	pointsCapped bool
}

// NewCounter returns a Counter tracking at most maxTxIDs TxIDs and maxFlows
// flows; sizeHint presizes the TxID set (0 for a small start).
func NewCounter(maxTxIDs, maxFlows, sizeHint int) *Counter {
	return &Counter{
		maxTxIDs: maxTxIDs,
		txids:    make(map[uint64]struct{}, min(sizeHint, maxTxIDs)),
		seq:      newSeqTracker(maxFlows),
	}
}

// Observe accounts one datagram b received at now (Unix nanoseconds). It
// does not allocate, except when the TxID set or flow table grows.
func (c *Counter) Observe(b []byte, now int64) {
	c.c.Frames++
	c.c.Bytes += uint64(len(b))
	if c.first == 0 {
		c.first, c.curStart = now, now
	}
	c.last = now
	f, err := frame.Parse(b)
	if err != nil {
		c.c.Malformed++
		return
	}
	c.observeTxID(&f.ID)
	if f.SeqNum == 0 {
		c.c.Unstamped++
	} else {
		c.seq.observe(f.HashKey, f.SeqNum)
	}
	ts, _, ok := wire.Stamp(f.Payload)
	if !ok || ts <= 0 {
		c.c.NoTimestamp++
		return
	}
	c.observeLatency(now, now-ts)
}

// ObserveTruncated counts a datagram cut by the receive buffer.
func (c *Counter) ObserveTruncated() { c.c.Frames++; c.c.Truncated++ }

// ObserveMalformed counts a frame that could not be delimited or parsed
// (a TCP stream that lost its framing).
func (c *Counter) ObserveMalformed() { c.c.Frames++; c.c.Malformed++ }

func (c *Counter) observeTxID(id *[32]byte) {
	key := xxhash.Sum64(id[:])
	if _, ok := c.txids[key]; ok {
		c.c.DuplicateTxIDs++
		return
	}
	if len(c.txids) >= c.maxTxIDs {
		c.c.UntrackedTxIDs++
		return
	}
	c.txids[key] = struct{}{}
	c.c.UniqueTxIDs++
}

func (c *Counter) observeLatency(now, lat int64) {
	if now-c.curStart >= Interval {
		c.closeInterval()
		c.curStart += (now - c.curStart) / Interval * Interval
	}
	c.lat.Record(lat)
	c.cur.Record(lat)
}

// closeInterval turns the current interval into a Point.
func (c *Counter) closeInterval() {
	if c.cur.Count() == 0 {
		return
	}
	if len(c.points) < MaxPoints {
		c.points = append(c.points, Point{
			T:   float64(c.curStart-c.first) / 1e9,
			P50: us(c.cur.Quantile(0.5)), P99: us(c.cur.Quantile(0.99)), Max: us(c.cur.Max()),
			N: c.cur.Count(),
		})
	} else {
		c.pointsCapped = true
	}
	c.cur.Reset()
}

// Unique returns the number of unique TxIDs so far.
func (c *Counter) Unique() uint64 { return c.c.UniqueTxIDs }

// Frames returns the number of frames so far.
func (c *Counter) Frames() uint64 { return c.c.Frames }

// Counts returns the frame and TxID counts so far.
func (c *Counter) Counts() Counts { return c.c }

// Seq returns the per-flow sequence counts so far.
func (c *Counter) Seq() SeqStats { return c.seq.stats() }

// Latency returns the latency histogram of every timestamped frame (ns).
func (c *Counter) Latency() *hist.Hist { return &c.lat }

// Series closes the current interval and returns the latency time series.
func (c *Counter) Series() []Point {
	c.closeInterval()
	return c.points
}

// Span returns the time from the first to the last frame, in seconds.
func (c *Counter) Span() float64 { return float64(c.last-c.first) / 1e9 }

func us(ns int64) float64 { return float64(ns) / 1e3 }
