package txidset

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// newTestSet builds a Set with a private registry and closes it at cleanup.
func newTestSet(t testing.TB, o Options) (*Set, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if o.Registerer == nil {
		o.Registerer = reg
	}
	if o.Namespace == "" {
		o.Namespace = "test"
	}
	if o.OpTimeout == 0 && o.BackendConfig == nil {
		// Not a timeout test: a loaded CI machine must not turn a
		// descheduled goroutine into a fail-open answer.
		o.OpTimeout = time.Minute
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

// keepRegisterer ignores Unregister, so tests can read metrics after Close.
type keepRegisterer struct{ *prometheus.Registry }

func (keepRegisterer) Unregister(prometheus.Collector) bool { return false }

// metric returns the value of the counter, gauge or histogram sample count
// called test_<name> (with label reason=<label> when given), 0 if absent.
func metric(t testing.TB, reg *prometheus.Registry, name string, label ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "test_"+name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(label) > 0 && !hasLabel(m, label[0]) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

// key is the backend key of TxID n under prefix.
func key(prefix string, n uint64) string {
	a := id(n)
	return prefix + hex.EncodeToString(a[:])
}

// ids returns the TxIDs of ns.
func ids(ns ...uint64) [][32]byte {
	out := make([][32]byte, len(ns))
	for i, n := range ns {
		out[i] = id(n)
	}
	return out
}

// eventually polls cond every 5 ms until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
