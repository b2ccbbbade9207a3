package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBucketsTile checks that consecutive buckets cover the range without
// gaps or overlaps, and that index maps both bounds of each bucket to it.
func TestBucketsTile(t *testing.T) {
	var next int64
	for i := range Buckets {
		lo, hi := Bounds(i)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], want to start at %d", i, lo, hi, next)
		}
		if index(lo) != i || index(hi) != i {
			t.Fatalf("bucket %d = [%d, %d]: index(lo) = %d, index(hi) = %d", i, lo, hi, index(lo), index(hi))
		}
		if lo >= sub && float64(hi-lo+1)/float64(lo) > 1.0/sub+1e-12 {
			t.Fatalf("bucket %d = [%d, %d] wider than 1/%d of its value", i, lo, hi, sub)
		}
		next = hi + 1
	}
	if next != 1<<MaxExp {
		t.Errorf("buckets end at %d, want %d", next, int64(1)<<MaxExp)
	}
	if index(1<<50) != Buckets-1 {
		t.Error("huge values must land in the top bucket")
	}
}

func TestQuantiles(t *testing.T) {
	var h Hist
	if h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Error("empty histogram must report 0")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 100000)
	for i := range vals {
		vals[i] = int64(rng.ExpFloat64() * 50000) // ~50 µs mean
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/sub+1 {
			t.Errorf("Quantile(%v) = %d, exact %d: off by more than 1/%d", q, got, exact, sub)
		}
	}
	if h.Quantile(1) != vals[len(vals)-1] || h.Max() != vals[len(vals)-1] || h.Quantile(0) != vals[0] || h.Min() != vals[0] {
		t.Errorf("extremes: q0 %d q1 %d min %d max %d, want %d and %d", h.Quantile(0), h.Quantile(1), h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	if h.Count() != uint64(len(vals)) {
		t.Errorf("Count = %d", h.Count())
	}
}

func TestMergeResetEach(t *testing.T) {
	var a, b Hist
	for v := range int64(100) {
		a.Record(v)
		b.Record(v * 1000)
	}
	b.Record(-5) // counts as 0
	a.Merge(&b)
	if a.Count() != 201 || a.Min() != 0 || a.Max() != 99000 {
		t.Errorf("merged: n %d min %d max %d", a.Count(), a.Min(), a.Max())
	}
	var total uint64
	prev := int64(-1)
	a.Each(func(lo, hi int64, c uint64) {
		if lo <= prev {
			t.Errorf("Each not increasing at %d", lo)
		}
		prev = hi
		total += c
	})
	if total != 201 {
		t.Errorf("Each counted %d", total)
	}
	a.Reset()
	if a.Count() != 0 || a.Max() != 0 {
		t.Error("Reset left values")
	}
	var e Hist
	a.Merge(&e)
	if a.Count() != 0 {
		t.Error("merging an empty histogram added values")
	}
}

func TestRecordAllocs(t *testing.T) {
	var h Hist
	if n := testing.AllocsPerRun(100, func() { h.Record(123456) }); n != 0 {
		t.Errorf("Record allocates %v", n)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Hist
	b.ReportAllocs()
	v := int64(1)
	for b.Loop() {
		h.Record(v)
		v = (v*7 + 13) & (1<<30 - 1)
	}
}
