package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Files under test, relative to this directory.
const (
	readmeFile    = "README.md"
	rulesFile     = "prometheus/mcdedup-proxy.rules.yml"
	rulesTestFile = "prometheus/mcdedup-proxy.rules.test.yml"
	dashboardFile = "grafana/mcdedup-proxy.json"
	unitFile      = "systemd/mcdedup-proxy.service"
	envFile       = "systemd/mcdedup-proxy.env"
	sysctlFile    = "sysctl/90-mcdedup.conf"
	k8sDir        = "kubernetes"
)

// opsShutdown is how long cmd/proxy gives its ops server after the drain
// (main.go), so a stop takes up to DRAIN_TIMEOUT + opsShutdown.
const opsShutdown = 2 * time.Second

// proxyBin is cmd/proxy built once per test binary; TestMain removes it.
var proxyBin struct {
	once  sync.Once
	dir   string
	path  string
	flags map[string]proxyFlag // by flag name
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if proxyBin.dir != "" {
		os.RemoveAll(proxyBin.dir)
	}
	os.Exit(code)
}

// proxyFlag is one flag of the proxy as its -h output shows it.
type proxyFlag struct {
	Name, Env, Default string
}

// builtProxy builds cmd/proxy (once) and returns the binary and its flags,
// parsed from -h: the flags and env vars the binary really accepts, whatever
// package they are registered in.
func builtProxy(t *testing.T) (bin string, flags map[string]proxyFlag) {
	t.Helper()
	proxyBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "mcdedup-deploy-")
		if err != nil {
			proxyBin.err = err
			return
		}
		proxyBin.dir = dir
		proxyBin.path = filepath.Join(dir, "mcdedup-proxy")
		if out, err := exec.Command("go", "build", "-o", proxyBin.path, "../cmd/proxy").CombinedOutput(); err != nil {
			proxyBin.err = fmt.Errorf("go build ../cmd/proxy: %v\n%s", err, out)
			return
		}
		out, err := exec.Command(proxyBin.path, "-h").CombinedOutput()
		if err != nil {
			proxyBin.err = fmt.Errorf("mcdedup-proxy -h: %v\n%s", err, out)
			return
		}
		proxyBin.flags, proxyBin.err = parseHelp(string(out))
	})
	if proxyBin.err != nil {
		t.Fatal(proxyBin.err)
	}
	return proxyBin.path, proxyBin.flags
}

var (
	helpFlagLine = regexp.MustCompile(`^  -([a-z0-9][a-z0-9-]*)(?: \S+)?$`)
	helpEnv      = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)`)
	helpDefault  = regexp.MustCompile(`\(default (.*)\)$`)
)

// parseHelp reads the flags out of the proxy's -h listing: "  -name type"
// followed by tab-indented usage lines ending in "(env NAME)" and
// "(default X)". It fails on a listing it cannot read, so that a changed
// format does not leave the env checks comparing against nothing.
func parseHelp(help string) (map[string]proxyFlag, error) {
	flags := map[string]proxyFlag{}
	var cur *proxyFlag
	var usage strings.Builder
	done := func() {
		if cur == nil {
			return
		}
		u := usage.String()
		if m := helpEnv.FindStringSubmatch(u); m != nil {
			cur.Env = m[1]
		}
		if m := helpDefault.FindStringSubmatch(u); m != nil {
			cur.Default = m[1]
		}
		flags[cur.Name] = *cur
		cur = nil
		usage.Reset()
	}
	for _, line := range strings.Split(help, "\n") {
		if m := helpFlagLine.FindStringSubmatch(line); m != nil {
			done()
			cur = &proxyFlag{Name: m[1]}
			continue
		}
		if cur != nil && strings.HasPrefix(line, "    \t") {
			usage.WriteString(strings.TrimSpace(line))
			continue
		}
		done()
	}
	done()
	if len(flags) < 10 {
		return nil, fmt.Errorf("only %d flags read from -h output:\n%s", len(flags), help)
	}
	for _, f := range flags {
		if f.Env == "" {
			return nil, fmt.Errorf("-%s has no (env NAME) in the -h output:\n%s", f.Name, help)
		}
	}
	return flags, nil
}

// envNames returns the set of env vars of the proxy's flags.
func envNames(flags map[string]proxyFlag) map[string]proxyFlag {
	m := map[string]proxyFlag{}
	for _, f := range flags {
		m[f.Env] = f
	}
	return m
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// yamlDocs decodes every document of a multi-document YAML file into a
// generic map.
func yamlDocs(t *testing.T, name string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(readFile(t, name))))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// envAssignments returns NAME=value lines of an env file, commented-out
// ones included (uncommenting them must not break the unit).
func envAssignments(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		active := !strings.HasPrefix(line, "#")
		line = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		k, v, ok := strings.Cut(line, "=")
		if !ok || !envToken.MatchString(k) {
			continue
		}
		if _, seen := m[k]; !seen || active {
			m[k] = v
		}
	}
	return m
}

// activeEnv returns the uncommented NAME=value lines of an env file.
func activeEnv(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && envToken.MatchString(k) {
			m[k] = v
		}
	}
	return m
}

var envToken = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// parseBytes reads a Kubernetes quantity (512Mi, 1Gi) or a GOMEMLIMIT value
// (400MiB) in bytes.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				continue
			}
			return v * u.mult, nil
		}
	}
	return 0, fmt.Errorf("cannot read %q as bytes", s)
}

// portOf returns the port of a listen address such as ":9725" or
// "[::]:8725".
func portOf(addr string) (int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0, fmt.Errorf("no port in %q", addr)
	}
	return strconv.Atoi(addr[i+1:])
}
