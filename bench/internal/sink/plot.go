package sink

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mcdedup/mcdedup/bench/internal/hist"
)

// Colours of the latency plot: one per percentile, the same in both panels.
var (
	colP50  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	colP99  = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff} // orange
	colP999 = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff} // purple
	colMax  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
	colBars = color.RGBA{R: 0x9e, G: 0xc9, B: 0xe2, A: 0xff} // light blue
)

// WritePlot draws the latency of a finished run to a PNG file: on top the
// p50, p99 and max of every 100 ms interval over time, below the latency
// histogram on a logarithmic axis with the p50, p99 and p99.9 marked. title
// heads the top panel.
func WritePlot(path, title string, c *Counter) error {
	h := c.Latency()
	if h.Count() == 0 {
		return fmt.Errorf("plot: no timestamped frames to plot")
	}
	top, err := seriesPlot(title, c.Series())
	if err != nil {
		return err
	}
	bottom, err := histPlot(h)
	if err != nil {
		return err
	}
	img := vgimg.NewWith(vgimg.UseWH(26*vg.Centimeter, 20*vg.Centimeter), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: 6 * vg.Millimeter, PadTop: 3 * vg.Millimeter,
		PadBottom: 3 * vg.Millimeter, PadLeft: 3 * vg.Millimeter, PadRight: 6 * vg.Millimeter}
	plots := [][]*plot.Plot{{top}, {bottom}}
	canvases := plot.Align(plots, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// seriesPlot is the top panel: latency percentiles per interval over time.
func seriesPlot(title string, pts []Point) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time since first frame (s)"
	p.Y.Label.Text = "latency per 100 ms (µs, log)"
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	p.X.Tick.Marker = linearTicks{}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	ylo, yhi := math.Inf(1), 0.0
	for _, pt := range pts {
		ylo, yhi = math.Min(ylo, math.Max(pt.P50, 0.1)), math.Max(yhi, pt.Max)
	}
	if len(pts) > 0 {
		// Room above the curves for the legend: a third of a decade per line.
		p.Y.Min, p.Y.Max = ylo/1.5, math.Max(yhi, ylo*10)*3
	}
	series := []struct {
		name  string
		col   color.Color
		width vg.Length
		value func(Point) float64
	}{
		{"max", colMax, 1, func(pt Point) float64 { return pt.Max }},
		{"p99", colP99, 1.8, func(pt Point) float64 { return pt.P99 }},
		{"p50", colP50, 1.8, func(pt Point) float64 { return pt.P50 }},
	}
	for _, s := range series {
		xys := make(plotter.XYs, len(pts))
		for i, pt := range pts {
			xys[i] = plotter.XY{X: pt.T, Y: math.Max(s.value(pt), 0.1)}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = s.col, vg.Points(float64(s.width))
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	return p, nil
}

// histPlot is the bottom panel: the share of frames per log-spaced latency
// bin (ten per decade), with percentile markers.
func histPlot(h *hist.Hist) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("latency histogram: %d frames, p50 %s, p99 %s, p99.9 %s, max %s",
		h.Count(), fmtUS(us(h.Quantile(0.5))), fmtUS(us(h.Quantile(0.99))), fmtUS(us(h.Quantile(0.999))), fmtUS(us(h.Max())))
	p.X.Label.Text = "latency (µs, log)"
	p.Y.Label.Text = "share of frames (%)"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	p.Y.Tick.Marker = linearTicks{}
	p.Add(plotter.NewGrid())
	bins := logBins(h)
	hp := &plotter.Histogram{Bins: bins, FillColor: colBars, LineStyle: draw.LineStyle{Color: color.Gray{Y: 0x60}, Width: vg.Points(0.5)}}
	p.Add(hp)
	var ymax float64
	for _, b := range bins {
		ymax = math.Max(ymax, b.Weight)
	}
	p.Y.Min, p.Y.Max = 0, ymax*1.45 // headroom for the legend above the bars
	p.Legend.Top = true
	for _, m := range []struct {
		name string
		q    float64
		col  color.Color
	}{{"p50", 0.5, colP50}, {"p99", 0.99, colP99}, {"p99.9", 0.999, colP999}} {
		x := math.Max(us(h.Quantile(m.q)), 0.1)
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: ymax * 1.08}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = m.col, vg.Points(1.8), []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s = %s", m.name, fmtUS(us(h.Quantile(m.q)))), l)
	}
	return p, nil
}

// logBins regroups the histogram's buckets into ten bins per decade of
// microseconds, weighted by their share of frames in percent.
func logBins(h *hist.Hist) []plotter.HistogramBin {
	const perDecade = 10
	edge := func(k int) float64 { return math.Pow(10, float64(k)/perDecade) }
	pos := func(v float64) int { return int(math.Floor(math.Log10(math.Max(v, 0.1)) * perDecade)) }
	lo, hi := pos(us(h.Min())), pos(us(h.Max()))
	bins := make([]plotter.HistogramBin, hi-lo+1)
	for i := range bins {
		bins[i] = plotter.HistogramBin{Min: edge(lo + i), Max: edge(lo + i + 1)}
	}
	total := float64(h.Count())
	h.Each(func(a, b int64, n uint64) {
		k := min(max(pos(us((a+b)/2)), lo), hi)
		bins[k-lo].Weight += 100 * float64(n) / total
	})
	return bins
}

// logTicks labels a log axis at 1, 2 and 5 times powers of ten, with
// unlabelled minor ticks in between.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	lo, hi = math.Max(lo, 1e-3), math.Max(hi, 1e-3)
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for i := 1; i < 10; i++ {
			v := base * float64(i)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if i == 1 || i == 2 || i == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// linearTicks labels a linear axis with about ten round steps (1, 2 or 5
// times a power of ten).
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi <= lo {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	raw := (hi - lo) / 10
	step := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step*m >= raw {
			step *= m
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 4, 64)})
	}
	return ticks
}

// fmtUS formats microseconds with a unit that keeps three digits.
func fmtUS(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3g ms", v/1e3)
	}
	return fmt.Sprintf("%.3g µs", v)
}
