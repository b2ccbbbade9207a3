package proxy

import (
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcdedup/mcdedup/cache"
	_ "github.com/mcdedup/mcdedup/cache/redis" // registers the redis backend
	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/ops"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
	"github.com/mcdedup/mcdedup/txidset"
)

// redisOptions returns e2e Options with a Redis claim backend.
func redisOptions(t testing.TB, fab fabric.Options, addr string) Options {
	o := e2eOptions(t, fab)
	o.Backend = &cache.Config{Backend: cache.BackendRedis, RedisAddr: addr, OpTimeout: 200 * time.Millisecond}
	return o
}

// waitState waits until the proxy's backend reaches state.
func waitState(t testing.TB, lp *liveProxy, state string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for lp.set.State() != state {
		if time.Now().After(deadline) {
			t.Fatalf("backend state %q, want %q after %v", lp.set.State(), state, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seq returns the indices [from, to).
func seq(from, to int) []uint64 {
	out := make([]uint64, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, uint64(i))
	}
	return out
}

// TestTwoProxiesShareRedis feeds the same TxIDs to two proxies (distinct
// flow identities) that share one real Redis: every TxID must be forwarded
// exactly once fleet-wide.
func TestTwoProxiesShareRedis(t *testing.T) {
	srv := redistest.Start(t)
	fab := e2eFabric(t)
	tp := openTap(t, fab)
	a := startProxy(t, redisOptions(t, fab, srv.Addr()), Deps{})
	ob := redisOptions(t, fab, srv.Addr())
	ob.FlowSource = loopbackSource2
	b := startProxy(t, ob, Deps{})
	waitState(t, a, txidset.StateOK, 10*time.Second)
	waitState(t, b, txidset.StateOK, 10*time.Second)
	const n = 20_000
	sa, sb := newSender(t, a.UDPAddr()), newSender(t, b.UDPAddr())
	deadline := time.Now().Add(60 * time.Second)
	for k := 0; k < n; k += 32 {
		var ds [][]byte
		for _, i := range seq(k, min(k+32, n)) {
			ds = append(ds, e2eFrame(i))
		}
		if err := sa.send(ds); err != nil {
			t.Fatal(err)
		}
		if err := sb.send(ds); err != nil {
			t.Fatal(err)
		}
		pace(t, []*liveProxy{a, b}, 2*(k+len(ds)), 2048, deadline)
	}
	pace(t, []*liveProxy{a, b}, 2*n, 0, deadline)
	got := tp.wait(t, n, 30*time.Second)
	seen := checkStamped(t, got, flowKeys(a.FlowSource(), b.FlowSource()))
	if len(seen) != n || len(got) != n {
		t.Fatalf("tap got %d datagrams for %d TxIDs, want each once", len(got), len(seen))
	}
	fa, fb := a.counter(a.m.forwarded), b.counter(b.m.forwarded)
	if fa+fb != n || a.counter(a.m.failOpn)+b.counter(b.m.failOpn) != 0 {
		t.Errorf("forwarded %v + %v, fail-open %v + %v", fa, fb, a.counter(a.m.failOpn), b.counter(b.m.failOpn))
	}
	t.Logf("proxy A forwarded %v, proxy B %v", fa, fb)
}

// TestRedisKilledMidRun kills Redis while frames flow: no unique TxID may be
// lost (fail open), and once Redis is back the proxy claims in it again
// without a restart.
func TestRedisKilledMidRun(t *testing.T) {
	srv := redistest.Start(t)
	fab := e2eFabric(t)
	tp := openTap(t, fab)
	o := redisOptions(t, fab, srv.Addr())
	o.Backend.OpTimeout = 50 * time.Millisecond
	lp := startProxy(t, o, Deps{})
	waitState(t, lp, txidset.StateOK, 10*time.Second)
	s := newSender(t, lp.UDPAddr())
	send := func(from, to int) {
		for k := from; k < to; k += 16 {
			var ds [][]byte
			for _, i := range seq(k, min(k+16, to)) {
				ds = append(ds, e2eFrame(i))
			}
			if err := s.send(ds); err != nil {
				t.Fatal(err)
			}
			pace(t, []*liveProxy{lp}, k+len(ds), 256, time.Now().Add(30*time.Second))
		}
	}
	send(0, 3000)
	srv.Kill()
	send(3000, 6000)
	waitState(t, lp, txidset.StateDegraded, 10*time.Second)
	send(6000, 9000)
	if fo := lp.counter(lp.m.failOpn); fo == 0 {
		t.Error("no fail-open counted while Redis was down")
	}
	srv.Restart()
	waitState(t, lp, txidset.StateOK, 20*time.Second)
	send(9000, 12000)
	got := tp.wait(t, 12000, 30*time.Second)
	if seen := checkStamped(t, got, flowKeys(lp.FlowSource())); len(seen) != 12000 {
		t.Fatalf("%d of 12000 unique TxIDs arrived", len(seen))
	}
	for _, i := range []uint64{9000, 10500, 11999} {
		f, _ := frame.Parse(e2eFrame(i))
		v, err := srv.Do("EXISTS", DefaultDedupPrefix+hex.EncodeToString(f.ID[:]))
		if err != nil || v != "1" {
			t.Errorf("claim of frame %d after the restart not in Redis: %q %v", i, v, err)
		}
	}
}

// TestRedisDownAtBoot starts proxies while Redis is down: they start and
// forward, /readyz says degraded (503 only with RequireBackend), and they
// pick Redis up once it runs.
func TestRedisDownAtBoot(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	fab := e2eFabric(t)
	tp := openTap(t, fab)
	lp := startProxy(t, redisOptions(t, fab, srv.Addr()), Deps{})
	o := redisOptions(t, fab, srv.Addr())
	o.RequireBackend = true
	o.FlowSource = loopbackSource2
	strict := startProxy(t, o, Deps{})
	if err := newSender(t, lp.UDPAddr()).send([][]byte{e2eFrame(1), e2eFrame(2)}); err != nil {
		t.Fatal(err)
	}
	tp.wait(t, 2, 10*time.Second)
	for _, c := range []struct {
		lp   *liveProxy
		code int
	}{{lp, http.StatusOK}, {strict, http.StatusServiceUnavailable}} {
		code, body := readyz(t, c.lp)
		if code != c.code || !strings.Contains(body, "degraded") {
			t.Errorf("/readyz = %d %s, want %d and degraded", code, body, c.code)
		}
	}
	if g := gauge(t, strict.reg, "mcdedup_proxy_ready"); g != 0 {
		t.Errorf("ready gauge = %v while the required backend is down, want 0", g)
	}
	if g := gauge(t, strict.reg, "mcdedup_proxy_dedup_backend_configured"); g != 1 {
		t.Errorf("backend_configured = %v, want 1", g)
	}
	if strict.Backend() != nil {
		t.Error("Backend() is not nil while Redis is down")
	}
	srv.Restart()
	waitState(t, strict, txidset.StateOK, 20*time.Second)
	if code, body := readyz(t, strict); code != http.StatusOK {
		t.Errorf("/readyz after Redis came up = %d %s", code, body)
	}
	if g := gauge(t, strict.reg, "mcdedup_proxy_ready"); g != 1 {
		t.Errorf("ready gauge = %v with the backend up, want 1", g)
	}
	if _, ok := strict.Backend().(cache.Lister); !ok {
		t.Errorf("Backend() = %T, want the Redis backend (a cache.Lister) for the key browser", strict.Backend())
	}
}

// gauge reads one unlabelled gauge from reg.
func gauge(t testing.TB, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("gauge %s not registered", name)
	return 0
}

// readyz serves the proxy's readiness through an ops server and GETs it.
func readyz(t testing.TB, lp *liveProxy) (int, string) {
	t.Helper()
	s := ops.New(ops.Options{Addr: "127.0.0.1:0", Gatherer: lp.reg, Ready: lp.Ready, Logger: slog.New(slog.DiscardHandler)})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	resp, err := http.Get("http://" + s.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
