package deploy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/proxy"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// metricSet is what a proxy exposes on /metrics.
type metricSet struct {
	types  map[string]dto.MetricType  // family name → type
	series map[string]string          // series name (with _bucket/_sum/_count) → family name
	labels map[string]map[string]bool // family name → label names
	values map[string]map[string]bool // label name → every value seen, over all families
	used   map[string]bool            // families some reference resolved to
}

// targetLabels are attached by Prometheus or its service discovery, not by
// the proxy.
var targetLabels = map[string]bool{
	"job": true, "instance": true, "node": true, "namespace": true, "pod": true,
	"container": true, "service": true, "endpoint": true,
}

// syntheticSeries are made by Prometheus itself for every target or alert.
var syntheticSeries = map[string]bool{
	"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true,
	"ALERTS": true, "ALERTS_FOR_STATE": true,
}

// nopEgress accepts every datagram: the metric names do not depend on it.
type nopEgress struct{}

func (nopEgress) Send(msgs []udpio.Message) (int, int, error) { return len(msgs), 0, nil }
func (nopEgress) Close() error                                { return nil }

// proxyMetrics builds a proxy on fake sockets with a fresh registry and
// gathers what it registers, plus the Go and process collectors that
// cmd/proxy/main.go adds (TestBinaryExportsSameMetrics holds the two
// together). Dedup is on, so the claim set's metrics are there too.
func proxyMetrics(t *testing.T) *metricSet {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fo := fabric.Defaults()
	fo.IPv4Base = netip.MustParseAddr("239.77.0.0")
	o := proxy.Options{
		Listen:     "127.0.0.1:0",
		Workers:    1,
		Fabric:     fo,
		FlowSource: netip.MustParseAddr("192.0.2.1"),
		DedupCap:   1024,
	}
	p, err := proxy.New(o, proxy.Deps{
		Registerer: reg,
		NewEgress:  func() (proxy.Egress, error) { return nopEgress{}, nil },
		ListenUDP: func(addr string, _ udpio.Options) (udpio.BatchConn, error) {
			return udpio.NewFake(netip.MustParseAddrPort(addr)), nil
		},
	})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return newMetricSet(mfs)
}

func newMetricSet(mfs []*dto.MetricFamily) *metricSet {
	ms := &metricSet{types: map[string]dto.MetricType{}, series: map[string]string{},
		labels: map[string]map[string]bool{}, values: map[string]map[string]bool{}, used: map[string]bool{}}
	for _, mf := range mfs {
		name := mf.GetName()
		ms.types[name] = mf.GetType()
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				ms.series[name+s] = name
			}
		case dto.MetricType_SUMMARY:
			for _, s := range []string{"", "_sum", "_count"} {
				ms.series[name+s] = name
			}
		default:
			ms.series[name] = name
		}
		ls := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				ls[lp.GetName()] = true
				if ms.values[lp.GetName()] == nil {
					ms.values[lp.GetName()] = map[string]bool{}
				}
				ms.values[lp.GetName()][lp.GetValue()] = true
			}
		}
		ms.labels[name] = ls
	}
	return ms
}

// literalAlternation matches a regexp matcher value that is a plain list of
// label values ("a|b|c"), whose members can be checked one by one.
var literalAlternation = regexp.MustCompile(`^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$`)

// check returns what is wrong with one selector: a metric that is not
// exported (a histogram needs its _bucket/_sum/_count suffix), a recording
// rule output that the rules file does not define, a label the metric does
// not have, or a label value it never takes.
func (ms *metricSet) check(sel selector, records map[string]bool) []string {
	var errs []string
	var family string
	switch {
	case sel.Name == "" || syntheticSeries[sel.Name]:
	case strings.Contains(sel.Name, ":"):
		if !records[sel.Name] {
			errs = append(errs, fmt.Sprintf("%s is not a recording rule of %s", sel.Name, rulesFile))
		}
	default:
		f, ok := ms.series[sel.Name]
		if !ok {
			hint := ""
			if t, isFamily := ms.types[sel.Name]; isFamily {
				hint = fmt.Sprintf(" (it is a %s: use a _bucket, _sum or _count series)", t)
			}
			errs = append(errs, fmt.Sprintf("metric %s is not exported by the proxy%s", sel.Name, hint))
			break
		}
		family = f
		ms.used[f] = true
	}
	for _, m := range sel.Matchers {
		if targetLabels[m.Label] || m.Label == "__name__" || strings.Contains(m.Value, "$") {
			continue
		}
		known := ms.values[m.Label]
		switch {
		case family != "" && !ms.labels[family][m.Label] && !(m.Label == "le" && sel.Name != family):
			errs = append(errs, fmt.Sprintf("%s has no label %q", sel.Name, m.Label))
			continue
		case family == "" && sel.Name != "" && !syntheticSeries[sel.Name] && known == nil:
			errs = append(errs, fmt.Sprintf("%s: no proxy metric has a label %q", sel.Name, m.Label))
			continue
		case known == nil:
			continue
		}
		var vals []string
		switch {
		case m.Op == "=" || m.Op == "!=":
			vals = []string{m.Value}
		case literalAlternation.MatchString(m.Value):
			vals = strings.Split(m.Value, "|")
		}
		for _, v := range vals {
			if !known[v] {
				errs = append(errs, fmt.Sprintf("%s{%s%s%q}: the proxy never exports %s=%q", sel.Name, m.Label, m.Op, m.Value, m.Label, v))
			}
		}
	}
	return errs
}

// metricRef is a PromQL expression and where it was found.
type metricRef struct {
	where, expr string
}

// TestReferencedMetricsExist checks every expression of the rules file and
// the dashboard, and every mcdedup_proxy_* name in the other files here,
// against what the proxy registers.
func TestReferencedMetricsExist(t *testing.T) {
	ms := proxyMetrics(t)
	rules := loadRules(t)
	records := rules.records()
	var refs []metricRef
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			refs = append(refs, metricRef{fmt.Sprintf("%s: %s%s", rulesFile, r.Alert, r.Record), r.Expr})
		}
	}
	refs = append(refs, dashboardExprs(t)...)
	if len(refs) < 20 {
		t.Fatalf("only %d expressions found: the rules or dashboard readers are broken", len(refs))
	}
	for _, r := range refs {
		sels, err := scanPromQL(r.expr)
		if err != nil {
			t.Errorf("%s: %v", r.where, err)
			continue
		}
		for _, sel := range sels {
			for _, e := range ms.check(sel, records) {
				t.Errorf("%s: %s", r.where, e)
			}
		}
	}
	for _, name := range []string{readmeFile, unitFile, envFile, sysctlFile, rulesTestFile} {
		checkNamesInText(t, ms, records, name)
	}
	for _, name := range k8sFiles(t) {
		checkNamesInText(t, ms, records, name)
	}
	var unused []string
	for f := range ms.types {
		if strings.HasPrefix(f, "mcdedup_") && !ms.used[f] {
			unused = append(unused, f)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		// Not an error: some metrics are for ad-hoc queries. A new metric
		// shows up here until a panel or rule uses it.
		t.Logf("metrics on no panel and in no rule: %s", strings.Join(unused, ", "))
	}
}

var (
	proxyMetricName = regexp.MustCompile(`\bmcdedup_[a-z0-9_]*[a-z0-9]\b`)
	recordName      = regexp.MustCompile(`\b[a-z_]+:mcdedup_[a-z0-9_]+:[a-z0-9_]+\b`)
)

// checkNamesInText checks the mcdedup_* metric names and recording rule
// names written in prose and comments. A pattern such as mcdedup_proxy_*
// does not match proxyMetricName (it must end in a letter or digit at a word
// boundary) and is left alone.
func checkNamesInText(t *testing.T, ms *metricSet, records map[string]bool, name string) {
	t.Helper()
	text := readFile(t, name)
	for _, loc := range recordName.FindAllStringIndex(text, -1) {
		if n := text[loc[0]:loc[1]]; !records[n] {
			t.Errorf("%s: %s is not a recording rule of %s", name, n, rulesFile)
		}
	}
	text = recordName.ReplaceAllString(text, "")
	for _, loc := range proxyMetricName.FindAllStringIndex(text, -1) {
		n := text[loc[0]:loc[1]]
		if _, ok := ms.series[n]; !ok {
			if _, family := ms.types[n]; !family {
				t.Errorf("%s: metric %s is not exported by the proxy", name, n)
			}
		}
	}
}

// TestBinaryExportsSameMetrics runs the real binary and compares the
// families on its /metrics with those proxyMetrics builds in-process, so the
// in-process stand-in cannot drift from cmd/proxy's wiring (its collectors,
// the namespace). It needs IPv4 multicast on lo, like cmd/proxy's tests.
func TestBinaryExportsSameMetrics(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the proxy's sockets need Linux")
	}
	want := proxyMetrics(t)
	bin, _ := builtProxy(t)
	// A port free a moment ago; the proxy sends nothing, so its egress port
	// may stay the default.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-metrics-addr", opsAddr, "-workers", "1",
		"-iface", "lo", "-ipv4-group-base", "239.79.0.0", "-shard-bits", "2", "-flow-source", "127.0.0.1")
	cmd.Env = []string{} // no stray DEDUP_* or other settings from the test's environment
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get("http://" + opsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("proxy exited before ready: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy not ready within 15s\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := client.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := scrapeTypes(t, resp.Body)
	var missing, extra []string
	for f := range want.types {
		if _, ok := got[f]; !ok {
			missing = append(missing, f)
		}
	}
	for f := range got {
		if _, ok := want.types[f]; !ok {
			extra = append(extra, f)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("the binary's /metrics differs from the in-process proxy + Go/process collectors (update proxyMetrics to match cmd/proxy):\nonly in-process: %v\nonly in the binary: %v", missing, extra)
	}
}

// scrapeTypes reads the "# TYPE name type" lines of a text exposition.
func scrapeTypes(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	types := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return types
}
