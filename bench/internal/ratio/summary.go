package ratio

import (
	"fmt"
	"io"
	"slices"
)

// Summary is the outcome of a comparison, printed as JSON by -json.
type Summary struct {
	A        string  `json:"a"`
	B        string  `json:"b,omitempty"`
	Rounds   int     `json:"rounds"`
	Rate     float64 `json:"rate"`
	Duration float64 `json:"duration_s"`
	Rows     []Row   `json:"rows"`
	// MedianA and MedianB are the median delivered fps of each pipeline.
	MedianA float64 `json:"median_fps_a"`
	MedianB float64 `json:"median_fps_b,omitempty"`
	// Ratios are B/A of each round; RatioMedian, RatioMin and RatioMax
	// summarise them (the spread).
	Ratios      []float64 `json:"ratios,omitempty"`
	RatioMedian float64   `json:"ratio_median,omitempty"`
	RatioMin    float64   `json:"ratio_min,omitempty"`
	RatioMax    float64   `json:"ratio_max,omitempty"`
	// CPUMedianA and CPUMedianB are the median CPU µs per delivered frame
	// of each pipeline. CPURatios are, per round, A's CPU per frame over
	// B's: frames per CPU-second of B relative to A, the per-core capacity
	// ratio, which does not depend on how the scheduler placed the three
	// processes. CPURatioMedian, Min and Max summarise them.
	CPUMedianA     float64   `json:"cpu_us_per_frame_a,omitempty"`
	CPUMedianB     float64   `json:"cpu_us_per_frame_b,omitempty"`
	CPURatios      []float64 `json:"cpu_ratios,omitempty"`
	CPURatioMedian float64   `json:"cpu_ratio_median,omitempty"`
	CPURatioMin    float64   `json:"cpu_ratio_min,omitempty"`
	CPURatioMax    float64   `json:"cpu_ratio_max,omitempty"`
}

// summarize computes medians and ratios of the rows measured so far.
func summarize(cfg *Config, a, b *pipeline, rows []Row) Summary {
	s := Summary{A: describe(a), Rounds: cfg.Rounds, Rate: cfg.Rate, Duration: cfg.Duration.Seconds(), Rows: rows}
	if b != nil {
		s.B = describe(b)
	}
	var fa, fb, ca, cb []float64
	byRound := map[int][4]float64{} // fps A, fps B, CPU/frame A, CPU/frame B
	for _, r := range rows {
		q := byRound[r.Round]
		if r.Pipeline == "A" {
			fa, q[0] = append(fa, r.DeliveredFPS), r.DeliveredFPS
			if r.CPUusPerFrame > 0 {
				ca, q[2] = append(ca, r.CPUusPerFrame), r.CPUusPerFrame
			}
		} else {
			fb, q[1] = append(fb, r.DeliveredFPS), r.DeliveredFPS
			if r.CPUusPerFrame > 0 {
				cb, q[3] = append(cb, r.CPUusPerFrame), r.CPUusPerFrame
			}
		}
		byRound[r.Round] = q
	}
	s.MedianA, s.MedianB = median(fa), median(fb)
	s.CPUMedianA, s.CPUMedianB = median(ca), median(cb)
	for round := 1; round <= cfg.Rounds; round++ {
		q, ok := byRound[round]
		if ok && q[0] > 0 && q[1] > 0 {
			s.Ratios = append(s.Ratios, q[1]/q[0])
		}
		if ok && q[2] > 0 && q[3] > 0 {
			s.CPURatios = append(s.CPURatios, q[2]/q[3])
		}
	}
	s.RatioMedian, s.RatioMin, s.RatioMax = spread(s.Ratios)
	s.CPURatioMedian, s.CPURatioMin, s.CPURatioMax = spread(s.CPURatios)
	return s
}

// spread returns the median, minimum and maximum of v, zeros for none.
func spread(v []float64) (med, lo, hi float64) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	return median(v), slices.Min(v), slices.Max(v)
}

// median returns the median of v (the mean of the middle two for an even
// count), 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// WriteTable prints the rows and the medians as a compact table.
func (s *Summary) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%-5s %-3s %-10s %10s %10s %12s %10s %8s %9s %9s %9s\n",
		"round", "run", "pipeline", "sent", "delivered", "deliv_fps", "sink_fps", "loss%", "p50_us", "p99_us", "cpu_us/f")
	for _, r := range s.Rows {
		fmt.Fprintf(w, "%-5d %-3s %-10s %10d %10d %12.0f %10.0f %8.3f %9.0f %9.0f %9.3f\n",
			r.Round, r.Pipeline, r.Name, r.Sent, r.Delivered, r.DeliveredFPS, r.SinkFPS, r.LossPct, r.P50us, r.P99us,
			r.CPUusPerFrame)
	}
	fmt.Fprintf(w, "median delivered fps: A (%s) %.0f", s.A, s.MedianA)
	if s.B != "" {
		fmt.Fprintf(w, ", B (%s) %.0f\nratio B/A: median %.3f, min %.3f, max %.3f over %d rounds",
			s.B, s.MedianB, s.RatioMedian, s.RatioMin, s.RatioMax, len(s.Ratios))
	}
	fmt.Fprintln(w)
	if s.CPUMedianA > 0 {
		fmt.Fprintf(w, "median pipeline CPU per delivered frame: A %.3f µs", s.CPUMedianA)
		if s.CPUMedianB > 0 {
			fmt.Fprintf(w, ", B %.3f µs\nframes per CPU-second B/A: median %.3f, min %.3f, max %.3f over %d rounds",
				s.CPUMedianB, s.CPURatioMedian, s.CPURatioMin, s.CPURatioMax, len(s.CPURatios))
		}
		fmt.Fprintln(w)
	}
}
