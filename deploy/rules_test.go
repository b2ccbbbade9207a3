package deploy

import (
	"bytes"
	"context"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcdedup/mcdedup/internal/systest"
)

// ruleFile is the Prometheus rule file format; decoding with KnownFields
// turns a misspelt key ("anotations") into an error instead of a rule that
// silently lacks it.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) *ruleFile {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(readFile(t, rulesFile))))
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return &rf
}

// records returns the names the recording rules define.
func (rf *ruleFile) records() map[string]bool {
	m := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				m[r.Record] = true
			}
		}
	}
	return m
}

var (
	severities = map[string]bool{"critical": true, "warning": true, "info": true}
	// level:metric:operation, the Prometheus naming convention for
	// recording rules.
	recordConvention = regexp.MustCompile(`^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$`)
	promDuration     = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
)

// TestRulesWellFormed checks what an on-call engineer relies on: every alert
// waits (for), is routed (severity) and explains itself (summary,
// description, a runbook that exists in README.md).
func TestRulesWellFormed(t *testing.T) {
	rf := loadRules(t)
	anchors := readmeAnchors(t)
	if len(rf.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	names := map[string]bool{}
	var alerts, records int
	for _, g := range rf.Groups {
		if g.Name == "" || names["group "+g.Name] {
			t.Errorf("group name %q empty or repeated", g.Name)
		}
		names["group "+g.Name] = true
		if g.Interval != "" && !promDuration.MatchString(g.Interval) {
			t.Errorf("group %s: interval %q is not a Prometheus duration", g.Name, g.Interval)
		}
		for _, r := range g.Rules {
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("%s%s: empty expr", r.Alert, r.Record)
			}
			switch {
			case r.Alert != "" && r.Record != "":
				t.Errorf("%s: both alert and record", r.Alert)
			case r.Record != "":
				records++
				if names["record "+r.Record] {
					t.Errorf("record %s defined twice", r.Record)
				}
				names["record "+r.Record] = true
				if !recordConvention.MatchString(r.Record) {
					t.Errorf("record %s does not follow level:metric:operation", r.Record)
				}
				if r.For != "" || len(r.Annotations) > 0 {
					t.Errorf("record %s has for or annotations", r.Record)
				}
			case r.Alert != "":
				alerts++
				checkAlert(t, r, anchors)
				if names["alert "+r.Alert] {
					t.Errorf("alert %s defined twice", r.Alert)
				}
				names["alert "+r.Alert] = true
			default:
				t.Errorf("a rule with neither alert nor record: %q", r.Expr)
			}
		}
	}
	if alerts == 0 || records == 0 {
		t.Errorf("%d alerts and %d recording rules: expected both", alerts, records)
	}
}

func checkAlert(t *testing.T, r rule, anchors map[string]bool) {
	t.Helper()
	if !promDuration.MatchString(r.For) {
		t.Errorf("alert %s: for %q missing or not a duration", r.Alert, r.For)
	}
	if !severities[r.Labels["severity"]] {
		t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
	}
	for _, a := range []string{"summary", "description", "runbook_url"} {
		if strings.TrimSpace(r.Annotations[a]) == "" {
			t.Errorf("alert %s: no %s annotation", r.Alert, a)
		}
	}
	u, err := url.Parse(r.Annotations["runbook_url"])
	switch {
	case err != nil:
		t.Errorf("alert %s: runbook_url: %v", r.Alert, err)
	case !strings.HasSuffix(u.Path, "/deploy/README.md") || !anchors[u.Fragment]:
		t.Errorf("alert %s: runbook_url %q is not a heading of deploy/README.md", r.Alert, r.Annotations["runbook_url"])
	}
}

// readmeAnchors returns the GitHub anchors of README.md's headings.
func readmeAnchors(t *testing.T) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(readFile(t, readmeFile), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		anchors[githubAnchor(strings.TrimLeft(line, "# "))] = true
	}
	return anchors
}

// githubAnchor is the fragment GitHub gives a heading: lower case, spaces to
// hyphens, punctuation other than hyphens and underscores dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestRulesPromtool runs promtool's syntax check and the alert cases in
// mcdedup-proxy.rules.test.yml, where promtool is installed (Debian package
// prometheus); the Go tests above cannot evaluate PromQL.
func TestRulesPromtool(t *testing.T) {
	// CI installs Debian's prometheus package for promtool; elsewhere a
	// missing promtool skips (or fails under REQUIRE_SYSTEM_TESTS=1).
	promtool := systest.Command(t, "promtool")
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
