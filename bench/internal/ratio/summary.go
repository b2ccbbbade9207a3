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
}

// summarize computes medians and ratios of the rows measured so far.
func summarize(cfg *Config, a, b *pipeline, rows []Row) Summary {
	s := Summary{A: describe(a), Rounds: cfg.Rounds, Rate: cfg.Rate, Duration: cfg.Duration.Seconds(), Rows: rows}
	if b != nil {
		s.B = describe(b)
	}
	var fa, fb []float64
	byRound := map[int][2]float64{}
	for _, r := range rows {
		pair := byRound[r.Round]
		if r.Pipeline == "A" {
			fa, pair[0] = append(fa, r.DeliveredFPS), r.DeliveredFPS
		} else {
			fb, pair[1] = append(fb, r.DeliveredFPS), r.DeliveredFPS
		}
		byRound[r.Round] = pair
	}
	s.MedianA, s.MedianB = median(fa), median(fb)
	for round := 1; round <= cfg.Rounds; round++ {
		if p, ok := byRound[round]; ok && p[0] > 0 && p[1] > 0 {
			s.Ratios = append(s.Ratios, p[1]/p[0])
		}
	}
	if len(s.Ratios) > 0 {
		s.RatioMedian, s.RatioMin, s.RatioMax = median(s.Ratios), slices.Min(s.Ratios), slices.Max(s.Ratios)
	}
	return s
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
	fmt.Fprintf(w, "%-5s %-3s %-10s %10s %10s %12s %10s %8s %9s %9s\n",
		"round", "run", "pipeline", "sent", "delivered", "deliv_fps", "sink_fps", "loss%", "p50_us", "p99_us")
	for _, r := range s.Rows {
		fmt.Fprintf(w, "%-5d %-3s %-10s %10d %10d %12.0f %10.0f %8.3f %9.0f %9.0f\n",
			r.Round, r.Pipeline, r.Name, r.Sent, r.Delivered, r.DeliveredFPS, r.SinkFPS, r.LossPct, r.P50us, r.P99us)
	}
	fmt.Fprintf(w, "median delivered fps: A (%s) %.0f", s.A, s.MedianA)
	if s.B != "" {
		fmt.Fprintf(w, ", B (%s) %.0f\nratio B/A: median %.3f, min %.3f, max %.3f over %d rounds",
			s.B, s.MedianB, s.RatioMedian, s.RatioMin, s.RatioMax, len(s.Ratios))
	}
	fmt.Fprintln(w)
}
