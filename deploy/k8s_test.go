package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcdedup/mcdedup/txidset"
)

// k8sFiles returns the manifests under kubernetes/.
func k8sFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sDir, err)
	}
	return files
}

// k8sObject is one document of a manifest, kept as a node to decode by kind.
type k8sObject struct {
	file, kind, name string
	node             yaml.Node
}

func k8sObjects(t *testing.T) []k8sObject {
	t.Helper()
	var objs []k8sObject
	for _, f := range k8sFiles(t) {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(readFile(t, f))))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var head struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if err := n.Decode(&head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs = append(objs, k8sObject{f, head.Kind, head.Metadata.Name, n})
		}
	}
	return objs
}

// k8sOne decodes the only object of kind into v.
func k8sOne(t *testing.T, kind string, v any) {
	t.Helper()
	var found []k8sObject
	for _, o := range k8sObjects(t) {
		if o.kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(found), kind)
	}
	if err := found[0].node.Decode(v); err != nil {
		t.Fatalf("%s %s: %v", found[0].file, kind, err)
	}
}

// configMap returns the proxy's ConfigMap data. Every value must be a
// string: an unquoted 8 is an int to YAML and the API server rejects it.
func configMap(t *testing.T) map[string]string {
	t.Helper()
	var cm struct {
		Data map[string]any `yaml:"data"`
	}
	k8sOne(t, "ConfigMap", &cm)
	out := map[string]string{}
	for k, v := range cm.Data {
		s, ok := v.(string)
		if !ok {
			t.Errorf("ConfigMap %s: %v is not a string: quote it", k, v)
		}
		out[k] = s
	}
	return out
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type container struct {
	Name string `yaml:"name"`
	Env  []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	ReadinessProbe probe `yaml:"readinessProbe"`
	LivenessProbe  probe `yaml:"livenessProbe"`
	Resources      struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
}

type daemonSet struct {
	Spec struct {
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				HostNetwork                   bool        `yaml:"hostNetwork"`
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func proxyDaemonSet(t *testing.T) *daemonSet {
	t.Helper()
	var ds daemonSet
	k8sOne(t, "DaemonSet", &ds)
	if n := len(ds.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("DaemonSet: %d containers, want 1", n)
	}
	return &ds
}

func proxyContainer(t *testing.T) *container {
	t.Helper()
	return &proxyDaemonSet(t).Spec.Template.Spec.Containers[0]
}

// settingInt is setting read as a decimal integer.
func settingInt(t *testing.T, set map[string]string, env string) int {
	t.Helper()
	n, err := strconv.Atoi(setting(t, set, env))
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return n
}

// setting returns the value the deployment gives an env var, or the flag's
// default.
func setting(t *testing.T, set map[string]string, env string) string {
	t.Helper()
	if v := set[env]; v != "" {
		return v
	}
	_, flags := builtProxy(t)
	f, ok := envNames(flags)[env]
	if !ok {
		t.Fatalf("no flag has env %s", env)
	}
	return f.Default
}

// TestKubernetesConsistent checks what ties the manifests to each other and
// to the proxy: the pod reads the ConfigMap, probes and scrapes hit the port
// METRICS_ADDR binds, the ingress port is LISTEN's, the grace period covers
// the drain, and GOMEMLIMIT leaves room below the memory limit for what
// the Go heap does not hold.
func TestKubernetesConsistent(t *testing.T) {
	ds := proxyDaemonSet(t)
	pod := ds.Spec.Template.Spec
	c := pod.Containers[0]
	cm := configMap(t)
	if !pod.HostNetwork {
		t.Error("DaemonSet: hostNetwork must be true: multicast leaves by the node's interfaces")
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef.Name != "mcdedup-proxy" {
		t.Errorf("container envFrom %+v: want the mcdedup-proxy ConfigMap", c.EnvFrom)
	}

	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	metricsPort, err := portOf(setting(t, cm, "METRICS_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	listenPort, err := portOf(setting(t, cm, "LISTEN"))
	if err != nil {
		t.Fatal(err)
	}
	if ports["metrics"] != metricsPort || ports["ingress"] != listenPort {
		t.Errorf("container ports %v: want metrics %d (METRICS_ADDR) and ingress %d (LISTEN)", ports, metricsPort, listenPort)
	}
	if a := ds.Spec.Template.Metadata.Annotations["prometheus.io/port"]; a != strconv.Itoa(metricsPort) {
		t.Errorf("annotation prometheus.io/port %q, want %d", a, metricsPort)
	}
	for _, p := range []struct {
		name, path string
		probe      probe
	}{{"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/healthz", c.LivenessProbe}} {
		port := p.probe.HTTPGet.Port
		if p.probe.HTTPGet.Path != p.path || (port != "metrics" && port != metricsPort) {
			t.Errorf("%s probe %+v: want %s on port metrics (%d)", p.name, p.probe.HTTPGet, p.path, metricsPort)
		}
	}

	drain, err := time.ParseDuration(setting(t, cm, "DRAIN_TIMEOUT"))
	if err != nil {
		t.Fatal(err)
	}
	if grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second; grace <= drain+opsShutdown {
		t.Errorf("terminationGracePeriodSeconds %v must exceed DRAIN_TIMEOUT %v + %v", grace, drain, opsShutdown)
	}

	limit, err := parseBytes(c.Resources.Limits["memory"])
	if err != nil {
		t.Fatalf("limits.memory: %v", err)
	}
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		soft, err := parseBytes(e.Value)
		if err != nil {
			t.Fatalf("GOMEMLIMIT: %v", err)
		}
		// Outside Go's view: tier 1's off-heap table, and the kernel's
		// socket buffers (one receive buffer per worker, one send buffer
		// per worker and interface without a backend's extra readers).
		capacity := settingInt(t, cm, "DEDUP_LOCAL_CAP")
		workers := settingInt(t, cm, "WORKERS")
		outside := int64(capacity)*txidset.BytesPerEntry +
			int64(workers)*int64(settingInt(t, cm, "RCVBUF")+settingInt(t, cm, "SNDBUF"))
		if soft+outside >= limit {
			t.Errorf("GOMEMLIMIT %s + %d MiB outside the Go heap (tier 1 and socket buffers) must stay below limits.memory %s",
				e.Value, outside>>20, c.Resources.Limits["memory"])
		}
	}

	var pm struct {
		Spec struct {
			JobLabel            string `yaml:"jobLabel"`
			PodMetricsEndpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"podMetricsEndpoints"`
		} `yaml:"spec"`
	}
	k8sOne(t, "PodMonitor", &pm)
	for _, ep := range pm.Spec.PodMetricsEndpoints {
		if _, ok := ports[ep.Port]; !ok || ep.Path != "/metrics" {
			t.Errorf("PodMonitor endpoint %+v: want a container port name and /metrics", ep)
		}
	}
	// The alerts select the job by name: the PodMonitor must produce it.
	job := ds.Spec.Template.Metadata.Labels[pm.Spec.JobLabel]
	if !strings.Contains(readFile(t, rulesFile), `job="`+job+`"`) || job == "" {
		t.Errorf("PodMonitor jobLabel %q gives job %q, which the alerts in %s do not select", pm.Spec.JobLabel, job, rulesFile)
	}
}

// TestKustomizationListsManifests keeps kustomization.yaml and the
// directory in step: a manifest left out is never applied.
func TestKustomizationListsManifests(t *testing.T) {
	var k struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(k8sDir, "kustomization.yaml"))), &k); err != nil {
		t.Fatal(err)
	}
	for _, f := range k8sFiles(t) {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("%s is not in kustomization.yaml resources", base)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
}

// systemdSpan is a systemd time span of the simple forms 30s, 2min,
// 1min 30s and 90 (seconds).
var systemdSpan = regexp.MustCompile(`^(?:(\d+)min)?\s*(?:(\d+)s?)?$`)

func systemdSeconds(s string) (time.Duration, bool) {
	m := systemdSpan.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || m[1] == "" && m[2] == "" {
		return 0, false
	}
	mins, _ := strconv.Atoi(m[1])
	secs, _ := strconv.Atoi(m[2])
	return time.Duration(mins)*time.Minute + time.Duration(secs)*time.Second, true
}

// TestUnitStopTimeoutCoversDrain checks that systemd waits for a full drain
// before SIGKILL, with the DRAIN_TIMEOUT of the env file (or the default).
func TestUnitStopTimeoutCoversDrain(t *testing.T) {
	unit := readFile(t, unitFile)
	m := regexp.MustCompile(`(?m)^TimeoutStopSec=(.+)$`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatalf("%s: no TimeoutStopSec", unitFile)
	}
	stop, ok := systemdSeconds(m[1])
	if !ok {
		t.Fatalf("%s: TimeoutStopSec=%s: write it as Ns or Nmin", unitFile, m[1])
	}
	drain, err := time.ParseDuration(setting(t, activeEnv(readFile(t, envFile)), "DRAIN_TIMEOUT"))
	if err != nil {
		t.Fatal(err)
	}
	if stop <= drain+opsShutdown {
		t.Errorf("TimeoutStopSec %v must exceed DRAIN_TIMEOUT %v + %v", stop, drain, opsShutdown)
	}
	for _, want := range []string{"KillSignal=SIGTERM", "EnvironmentFile=/etc/default/mcdedup-proxy", "RestartPreventExitStatus=2"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("%s: no %s", unitFile, want)
		}
	}
}
