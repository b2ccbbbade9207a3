package proxy

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Namespace prefixes every metric of the proxy.
const Namespace = "mcdedup_proxy"

// metrics are the proxy's Prometheus collectors. Workers count into a tally
// and flush it once per batch.
type metrics struct {
	received, bytes       prometheus.Counter
	forwarded, relayed    prometheus.Counter
	legacy, announces     prometheus.Counter
	deduplicated, failOpn prometheus.Counter
	fragments, sent       prometheus.Counter
	sendErrors            prometheus.Counter
	dropped               []prometheus.Counter // by dropReason
	batchSize             prometheus.Histogram
	tcpConns              prometheus.Gauge
	tcpRejected           prometheus.Counter

	reg        prometheus.Registerer
	collectors []prometheus.Collector
}

// tally counts one batch; flush adds it to the metrics.
type tally struct {
	received, bytes, forwarded, relayed, legacy, announces uint64
	deduplicated, failOpen, fragments, sent, sendErrors    uint64
	dropped                                                uint64 // sum of drops
	drops                                                  []uint64
}

// reset zeroes t for the next batch, keeping its drop slice.
func (t *tally) reset() {
	d := t.drops
	if t.dropped > 0 {
		clear(d)
	}
	*t = tally{drops: d}
}

// drop counts one dropped input frame.
func (t *tally) drop(r dropReason) {
	t.drops[r]++
	t.dropped++
}

// newMetrics builds the metrics and registers them with reg (none when nil);
// funcs are registered alongside (gauges and counters read at scrape time).
func newMetrics(reg prometheus.Registerer, funcs ...prometheus.Collector) (*metrics, error) {
	m := &metrics{reg: reg}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
		m.collectors = append(m.collectors, c)
		return c
	}
	m.received = counter("received_total", "Input frames received (UDP datagrams and TCP frames).")
	m.bytes = counter("bytes_received_total", "Bytes of input frames received.")
	m.forwarded = counter("forwarded_total", "Input frames handed to the egress (a fragmented frame counts once; interface copies are sent_datagrams_total).")
	m.relayed = counter("relayed_total", "Frames stamped upstream forwarded verbatim (included in forwarded_total).")
	m.legacy = counter("legacy_total", "V1 legacy frames forwarded verbatim (included in forwarded_total).")
	m.announces = counter("announces_total", "Subtree-group announces (0x30) forwarded to 0xFFFC (included in forwarded_total).")
	m.deduplicated = counter("deduplicated_total", "Input frames dropped because the fleet already forwarded their ID (tier-1 hit or lost backend claim).")
	m.failOpn = counter("fail_open_total", "Input frames forwarded although the backend claim failed (backend error, timeout or down).")
	m.fragments = counter("fragments_total", "BRC-130 fragments emitted for payloads above the fragment size.")
	m.sent = counter("sent_datagrams_total", "Datagrams the kernel accepted, one per egress interface copy.")
	m.sendErrors = counter("send_errors_total", "Datagram copies the kernel rejected (real losses; partial writes are retried).")
	m.tcpRejected = counter("tcp_rejected_total", "TCP connections closed at once because -tcp-max-conns were open.")
	dv := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "dropped_total",
		Help: "Input frames dropped, by reason."}, []string{"reason"})
	m.collectors = append(m.collectors, dv)
	m.dropped = make([]prometheus.Counter, len(reasonLabels))
	for i, l := range reasonLabels {
		if l != "" {
			m.dropped[i] = dv.WithLabelValues(l)
		}
	}
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "batch_size",
		Help:    "Input frames per processed batch (one recvmmsg, or one TCP read burst).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 11)}) // 1 … 1024
	m.tcpConns = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "tcp_connections",
		Help: "Open TCP ingress connections."})
	m.collectors = append(m.collectors, m.batchSize, m.tcpConns)
	m.collectors = append(m.collectors, funcs...)
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, d := range m.collectors[:i] {
				reg.Unregister(d)
			}
			return nil, fmt.Errorf("proxy: register metrics: %w", err)
		}
	}
	return m, nil
}

// unregister removes the metrics from their registry.
func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}

// flush adds one batch's tally to the metrics.
func (m *metrics) flush(t *tally, batch int) {
	add := func(c prometheus.Counter, v uint64) {
		if v > 0 {
			c.Add(float64(v))
		}
	}
	add(m.received, t.received)
	add(m.bytes, t.bytes)
	add(m.forwarded, t.forwarded)
	add(m.relayed, t.relayed)
	add(m.legacy, t.legacy)
	add(m.announces, t.announces)
	add(m.deduplicated, t.deduplicated)
	add(m.failOpn, t.failOpen)
	add(m.fragments, t.fragments)
	add(m.sent, t.sent)
	add(m.sendErrors, t.sendErrors)
	if t.dropped > 0 {
		for r, n := range t.drops {
			if n > 0 && m.dropped[r] != nil {
				m.dropped[r].Add(float64(n))
			}
		}
	}
	if batch > 0 {
		m.batchSize.Observe(float64(batch))
	}
}

// funcCounter returns a CounterFunc of the proxy namespace.
func funcCounter(name, help string, fn func() float64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, fn)
}

// funcGauge returns a GaugeFunc of the proxy namespace.
func funcGauge(name, help string, fn func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, fn)
}

// totals returns the main counters as log attributes, for the line a
// stopping proxy logs.
func (m *metrics) totals() []any {
	read := func(c prometheus.Counter) uint64 {
		var d dto.Metric
		if c.Write(&d) != nil {
			return 0
		}
		return uint64(d.GetCounter().GetValue())
	}
	var dropped uint64
	for _, c := range m.dropped {
		if c != nil {
			dropped += read(c)
		}
	}
	return []any{"received", read(m.received), "forwarded", read(m.forwarded), "deduplicated", read(m.deduplicated),
		"fail_open", read(m.failOpn), "dropped", dropped, "fragments", read(m.fragments), "send_errors", read(m.sendErrors)}
}
