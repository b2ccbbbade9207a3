// Package hist is a log-linear histogram of non-negative integers (latencies
// in nanoseconds) with bounded memory and constant-time, allocation-free
// recording: values below 2^SubBits are counted exactly, and every power of
// two above is split into 2^SubBits equal sub-buckets, so a reported quantile
// is within 2^-SubBits (1.6 %) of the true value. It covers 0 to 2^MaxExp−1
// (about 18 minutes in nanoseconds) in Buckets counters (18 KiB); larger
// values land in the top bucket, while Max keeps them exact.
package hist

import (
	"math"
	"math/bits"
)

const (
	// SubBits is log2 of the sub-buckets per power of two.
	SubBits = 6
	// MaxExp bounds the covered range to [0, 2^MaxExp).
	MaxExp = 40
	// Buckets is the number of counters of a Hist.
	Buckets = (MaxExp - SubBits + 1) << SubBits

	sub = 1 << SubBits
)

// Hist is a log-linear histogram. The zero value is empty and ready to use;
// a Hist is not safe for concurrent use.
type Hist struct {
	counts [Buckets]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

// index returns the bucket of v (v ≥ 0, clamped to the top bucket).
func index(v int64) int {
	if v < sub {
		return int(v)
	}
	if v >= 1<<MaxExp {
		return Buckets - 1
	}
	e := bits.Len64(uint64(v)) - 1 // v in [2^e, 2^(e+1)), e ≥ SubBits
	shift := e - SubBits
	return (shift+1)<<SubBits + int(v>>shift) - sub
}

// Bounds returns the smallest and largest value of bucket i.
func Bounds(i int) (lo, hi int64) {
	if i < sub {
		return int64(i), int64(i)
	}
	k := i >> SubBits // ≥ 1
	m := int64(i&(sub-1) + sub)
	width := int64(1) << (k - 1)
	lo = m << (k - 1)
	return lo, lo + width - 1
}

// Record adds one value; negative values count as 0.
func (h *Hist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[index(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every value recorded in o.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Reset empties the histogram.
func (h *Hist) Reset() { *h = Hist{} }

// Count returns the number of values recorded.
func (h *Hist) Count() uint64 { return h.n }

// Min returns the smallest value recorded (0 when empty).
func (h *Hist) Min() int64 { return h.min }

// Max returns the largest value recorded, exactly (0 when empty).
func (h *Hist) Max() int64 { return h.max }

// Mean returns the mean of the values recorded (0 when empty).
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q in [0, 1]: the upper bound of the
// bucket holding the ⌈q·n⌉-th smallest value, clamped to [Min, Max], so
// Quantile(0) is Min and Quantile(1) is Max. It returns 0 when empty.
func (h *Hist) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			_, hi := Bounds(i)
			return min(max(hi, h.min), h.max)
		}
	}
	return h.max
}

// Each calls fn for every non-empty bucket in increasing order with the
// bucket's value range and count.
func (h *Hist) Each(fn func(lo, hi int64, count uint64)) {
	for i, c := range h.counts {
		if c != 0 {
			lo, hi := Bounds(i)
			fn(lo, hi, c)
		}
	}
}
