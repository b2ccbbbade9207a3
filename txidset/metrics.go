package txidset

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a mark is dropped (label "reason" of mark_dropped_total).
const (
	dropQueueFull = "queue_full" // the bounded queue was full
	dropBackend   = "backend"    // no backend, backend down, or the write failed
	dropClosed    = "closed"     // marked after Close, or left queued when the drain timed out
)

// metrics are the Set's Prometheus collectors. Claim counters are added once
// per ClaimBatch from local tallies; tier-1 sizes and evictions are read at
// scrape time.
type metrics struct {
	localHits, won, lost, failOpen prometheus.Counter
	roundTrips, backendErrors      prometheus.Counter
	batchSize, latency             prometheus.Observer
	backendUp                      prometheus.Gauge
	markWritten                    prometheus.Counter
	markDropFull, markDropBackend  prometheus.Counter
	markDropClosed                 prometheus.Counter
}

func newMetrics(o *Options, local *Local) (*metrics, []prometheus.Collector, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: o.Namespace, Subsystem: o.Subsystem, Name: name, Help: help}
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts(opts(name, help)))
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: o.Namespace, Subsystem: o.Subsystem, Name: name, Help: help, Buckets: buckets,
		})
	}
	m := &metrics{
		localHits:     counter("local_hits_total", "Claims answered by the in-process tier (duplicates dropped without a backend call)."),
		won:           counter("won_total", "Claims won: this process forwards the TxID."),
		lost:          counter("lost_total", "Claims lost to another instance: dropped."),
		failOpen:      counter("fail_open_total", "Claims forwarded because the backend failed, timed out or is down."),
		roundTrips:    counter("backend_round_trips_total", "Claim round trips to the backend (one per ClaimBatch with tier-1 misses)."),
		backendErrors: counter("backend_errors_total", "Claim round trips in which at least one key failed."),
		backendUp: prometheus.NewGauge(prometheus.GaugeOpts(opts("backend_up",
			"1 when the shared backend is connected and answering, 0 while degraded or absent (see backend_configured)."))),
		markWritten: counter("mark_written_total", "Courtesy marks written to the backend."),
	}
	bs := histogram("batch_size", "TxIDs per claim round trip to the backend.", prometheus.ExponentialBuckets(1, 2, 10))
	lat := histogram("backend_latency_seconds", "Duration of claim round trips to the backend.",
		prometheus.ExponentialBuckets(25e-6, 2, 14))
	m.batchSize, m.latency = bs, lat
	drops := prometheus.NewCounterVec(prometheus.CounterOpts(opts("mark_dropped_total",
		"Courtesy marks dropped: queue full (Mark never blocks), backend unavailable, or Set closed.")), []string{"reason"})
	m.markDropFull = drops.WithLabelValues(dropQueueFull)
	m.markDropBackend = drops.WithLabelValues(dropBackend)
	m.markDropClosed = drops.WithLabelValues(dropClosed)

	localFunc := func(f func(*Local) float64) func() float64 {
		return func() float64 {
			if local == nil {
				return 0
			}
			return f(local)
		}
	}
	cs := []prometheus.Collector{
		m.localHits, m.won, m.lost, m.failOpen, m.roundTrips, m.backendErrors, bs, lat, m.backendUp,
		m.markWritten, drops,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("backend_configured",
			"1 when a shared backend is configured, so backend_up 0 means degraded rather than tier-1 only by design.")),
			func() float64 {
				if o.Backend != nil || o.BackendConfig != nil { // as normalised by withDefaults
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("local_entries", "TxIDs held in the in-process tier.")),
			localFunc(func(l *Local) float64 { return float64(l.Len()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("local_capacity", "Capacity of the in-process tier.")),
			localFunc(func(l *Local) float64 { return float64(l.Capacity()) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts("local_evictions_total",
			"Live TxIDs evicted from the in-process tier at capacity.")),
			localFunc(func(l *Local) float64 { return float64(l.Evictions()) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts(opts("local_expirations_total",
			"Expired TxIDs reclaimed from the in-process tier.")),
			localFunc(func(l *Local) float64 { return float64(l.Expirations()) })),
	}
	if o.Registerer != nil {
		for i, c := range cs {
			if err := o.Registerer.Register(c); err != nil {
				for _, done := range cs[:i] {
					o.Registerer.Unregister(done)
				}
				return nil, nil, fmt.Errorf("txidset: register metrics: %w", err)
			}
		}
	}
	return m, cs, nil
}

// tally counts one ClaimBatch's outcomes; flush adds them once.
type tally struct{ hits, won, lost, failOpen int }

func (m *metrics) flush(t *tally) {
	add := func(c prometheus.Counter, n int) {
		if n != 0 {
			c.Add(float64(n))
		}
	}
	add(m.localHits, t.hits)
	add(m.won, t.won)
	add(m.lost, t.lost)
	add(m.failOpen, t.failOpen)
}
