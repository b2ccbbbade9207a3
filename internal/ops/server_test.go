package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcdedup/mcdedup/cache"
)

func startServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	s := New(opts)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestMetricsHealthReady(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_total", Help: "demo"})
	reg.MustRegister(c)
	c.Add(3)
	ready := Readiness{Ready: true, State: "ok"}
	s, base := startServer(t, Options{Gatherer: reg, Ready: func() Readiness { return ready }})

	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "demo_total 3") {
		t.Fatalf("/metrics = %d %q", code, body)
	}
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d, want 200", code)
	}
	ready = Readiness{Ready: true, State: "degraded", Checks: map[string]string{"backend": "down"}}
	code, body := get(t, base+"/readyz")
	var r Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if code != 200 || r.State != "degraded" || r.Checks["backend"] != "down" {
		t.Fatalf("/readyz degraded = %d %+v", code, r)
	}
	ready = Readiness{Ready: false, State: "degraded"}
	if code, _ := get(t, base+"/readyz"); code != 503 {
		t.Fatalf("/readyz not ready = %d, want 503", code)
	}
	ready = Readiness{Ready: true, State: "ok"}
	s.SetDraining()
	code, body = get(t, base+"/readyz")
	if code != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("/readyz draining = %d %q", code, body)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code != 404 {
		t.Fatalf("pprof must be off by default, got %d", code)
	}
}

func TestPprofBehindFlag(t *testing.T) {
	_, base := startServer(t, Options{Pprof: true, Gatherer: prometheus.NewRegistry()})
	if code, _ := get(t, base+"/debug/pprof/"); code != 200 {
		t.Fatalf("pprof index = %d", code)
	}
}

func TestDisabledWithoutAddr(t *testing.T) {
	s := New(Options{})
	if err := s.Start(); err != nil || s.Addr() != nil {
		t.Fatalf("empty Addr must disable the server: err=%v addr=%v", err, s.Addr())
	}
}

// fakeLister pages through a fixed key list; it is not a full backend.
type fakeLister struct {
	cache.Backend
	keys []string
	fail error
}

func (f *fakeLister) List(_ context.Context, o cache.ListOptions) (cache.ListPage, error) {
	if f.fail != nil {
		return cache.ListPage{}, f.fail
	}
	if strings.ContainsAny(o.Pattern, "[") && !strings.Contains(o.Pattern, "]") {
		return cache.ListPage{}, fmt.Errorf("list: %w", cache.ErrBadPattern)
	}
	start := 0
	if o.Cursor != "" {
		fmt.Sscan(o.Cursor, &start)
	}
	limit := o.Limit
	if limit == 0 {
		limit = 2
	}
	var p cache.ListPage
	for i := start; i < len(f.keys) && len(p.Entries) < limit; i++ {
		p.Entries = append(p.Entries, cache.Entry{Key: []byte(f.keys[i]), Val: []byte{0xab}})
		if i+1 < len(f.keys) {
			p.Cursor = fmt.Sprint(i + 1)
		} else {
			p.Cursor = ""
		}
	}
	p.Partial = []string{"node-x"}
	return p, nil
}

func TestKeyBrowser(t *testing.T) {
	fl := &fakeLister{keys: []string{"bsp:tx:aa", "bsp:tx:bb", "bre:frame:\x00\x01"}}
	_, base := startServer(t, Options{Gatherer: prometheus.NewRegistry(), Keys: &KeyBrowser{Backend: fl}})

	var all []keyJSON
	cursor := ""
	for i := 0; i < 10; i++ {
		code, body := get(t, base+"/v1/keys?q=b&values=1&cursor="+cursor)
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		var p pageJSON
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.PartialNodes) != 1 {
			t.Fatalf("partial nodes not reported: %s", body)
		}
		all = append(all, p.Keys...)
		if p.Cursor == "" {
			break
		}
		cursor = p.Cursor
	}
	if len(all) != 3 {
		t.Fatalf("paged %d keys, want 3: %+v", len(all), all)
	}
	if all[0].Key != "bsp:tx:aa" || all[0].ValueHex != "ab" {
		t.Fatalf("first key %+v", all[0])
	}
	if all[2].Key != "" || all[2].KeyHex != "6272653a6672616d653a0001" {
		t.Fatalf("binary key must be hex only: %+v", all[2])
	}

	for _, c := range []struct {
		url  string
		code int
	}{
		{"/v1/keys?q=%5Bab", 400},
		{"/v1/keys?limit=-1", 400},
		{"/v1/keys?limit=x", 400},
		{"/v1/keys?values=maybe", 400},
	} {
		if code, body := get(t, base+c.url); code != c.code {
			t.Errorf("%s = %d %s, want %d", c.url, code, body, c.code)
		}
	}
	fl.fail = fmt.Errorf("connection refused")
	if code, _ := get(t, base+"/v1/keys"); code != 502 {
		t.Errorf("backend failure = %d, want 502", code)
	}
}

func TestKeyBrowserWithoutLister(t *testing.T) {
	_, base := startServer(t, Options{Gatherer: prometheus.NewRegistry()})
	if code, _ := get(t, base+"/v1/keys"); code != 501 {
		t.Fatalf("no backend = %d, want 501", code)
	}
	_, base = startServer(t, Options{Gatherer: prometheus.NewRegistry(), Keys: &KeyBrowser{Backend: struct{ cache.Backend }{}}})
	if code, _ := get(t, base+"/v1/keys"); code != 501 {
		t.Fatalf("non-lister backend = %d, want 501", code)
	}
}

func TestKeyBrowserLookup(t *testing.T) {
	var current cache.Backend
	_, base := startServer(t, Options{Gatherer: prometheus.NewRegistry(),
		Keys: &KeyBrowser{Lookup: func() cache.Backend { return current }}})
	if code, _ := get(t, base+"/v1/keys"); code != 503 {
		t.Fatalf("backend not available = %d, want 503", code)
	}
	current = &fakeLister{keys: []string{"bsp:tx:aa"}}
	if code, body := get(t, base+"/v1/keys"); code != 200 || !strings.Contains(body, "bsp:tx:aa") {
		t.Fatalf("backend available = %d %s", code, body)
	}
}
