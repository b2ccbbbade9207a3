package deploy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Membership needs from internal/udpio (ErrMembershipLimit): one socket
// joining all 4096 shard groups plus the control groups.
const (
	minIGMPMemberships = 4100
	minOptmem          = 256 << 10
)

// sysctls reads "key = value" lines; anything else but comments and blank
// lines is an error, since sysctl --system would reject or misread it.
func sysctls(t *testing.T) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for i, line := range strings.Split(readFile(t, sysctlFile), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if !ok || err != nil {
			t.Fatalf("%s:%d: %q is not key = integer", sysctlFile, i+1, line)
		}
		m[strings.TrimSpace(k)] = n
	}
	return m
}

// TestSysctlKeysExist checks each key against /proc/sys, so a misspelt key
// (which sysctl --system only warns about) fails here. A container's network
// namespace may hide global keys: those are skipped with a message.
func TestSysctlKeysExist(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sysctls are Linux's")
	}
	for key := range sysctls(t) {
		t.Run(key, func(t *testing.T) {
			path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
			_, err := os.Stat(path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				t.Skipf("%s absent in this namespace (containers may lack it): key not checked", path)
			case err != nil:
				t.Fatal(err)
			}
		})
	}
}

// TestSysctlValuesCoverTheBinaries checks that the values leave the proxy
// its default buffers (and whatever the env file and ConfigMap ask for)
// uncapped, and let a listener join every shard group.
func TestSysctlValuesCoverTheBinaries(t *testing.T) {
	s := sysctls(t)
	_, flags := builtProxy(t)
	bufs := []struct {
		sysctl, env string
	}{{"net.core.rmem_max", "RCVBUF"}, {"net.core.wmem_max", "SNDBUF"}}
	cm := configMap(t)
	env := activeEnv(readFile(t, envFile))
	for _, b := range bufs {
		f, ok := envNames(flags)[b.env]
		if !ok {
			t.Fatalf("no flag has env %s", b.env)
		}
		for where, v := range map[string]string{"default": f.Default, envFile: env[b.env], "ConfigMap": cm[b.env]} {
			if v == "" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("%s %s=%q: %v", where, b.env, v, err)
			}
			if n > s[b.sysctl] {
				t.Errorf("%s %s=%d exceeds %s = %d: the kernel would cap it", where, b.env, n, b.sysctl, s[b.sysctl])
			}
		}
	}
	if s["net.ipv4.igmp_max_memberships"] < minIGMPMemberships {
		t.Errorf("net.ipv4.igmp_max_memberships = %d, want ≥ %d", s["net.ipv4.igmp_max_memberships"], minIGMPMemberships)
	}
	if s["net.core.optmem_max"] < minOptmem {
		t.Errorf("net.core.optmem_max = %d, want ≥ %d", s["net.core.optmem_max"], minOptmem)
	}
}
