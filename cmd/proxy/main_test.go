package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/frame"
)

// env returns a lookup over the given variables only.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestInvalidConfigurationExits2(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		lookup func(string) (string, bool)
		want   string
	}{
		{"shard bits env", nil, env("SHARD_BITS", "13"), "SHARD_BITS"},
		{"shard bits flag", []string{"-shard-bits", "0"}, env(), "shard-bits"},
		{"workers env", nil, env("WORKERS", "four"), `env WORKERS="four" (flag -workers)`},
		{"frag mtu", nil, env("FRAG_MTU", "1000"), "-frag-mtu (env FRAG_MTU)"},
		{"flow source", []string{"-flow-source", "nope"}, env(), "-flow-source (env FLOW_SOURCE)"},
		{"drain timeout", nil, env("DRAIN_TIMEOUT", "soon"), "DRAIN_TIMEOUT"},
		{"backend", []string{"-dedup-backend", "cassandra"}, env(), "dedup-backend"},
		{"redis without address", []string{"-dedup-backend", "redis"}, env(), "redis"},
		{"log level", []string{"-log-level", "loud"}, env(), "loud"},
		{"stray argument", []string{"extra"}, env(), "unexpected arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(c.args, c.lookup, &out); code != 2 {
				t.Fatalf("exit %d, want 2; output:\n%s", code, out.String())
			}
			if !strings.Contains(out.String(), c.want) {
				t.Fatalf("output does not name %q:\n%s", c.want, out.String())
			}
		})
	}
}

func TestBackendEnvError(t *testing.T) {
	t.Setenv("DEDUP_OP_TIMEOUT", "fast")
	var out bytes.Buffer
	if code := run(nil, env(), &out); code != 2 || !strings.Contains(out.String(), "DEDUP_OP_TIMEOUT") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

func TestDefaults(t *testing.T) {
	c, err := parseFlags(nil, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.Backend.Backend != cache.BackendNone || o.DedupCap != 1<<20 || o.FragMTU != 1500 ||
		o.Listen != "[::]:8725" || o.Fabric.Port != 9001 || c.metricsAddr != ":9725" || o.DedupPrefix != "bsp:tx:" {
		t.Fatalf("defaults: %+v metrics %q", o, c.metricsAddr)
	}
}

func TestHelpListsGroups(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"-h"}, env(), &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	s := out.String()
	last := -1
	for _, want := range []string{"ingress:", "-listen", "routing and stamping:", "-shard-bits", "dedup:", "-dedup-local-cap",
		"backend (dedup claims", "-dedup-redis-addr", "operations:", "-metrics-addr"} {
		i := strings.Index(s, want)
		if i < 0 || i < last {
			t.Fatalf("-h: %q missing or out of order:\n%s", want, s)
		}
		last = i
	}
	if strings.Contains(s, "\nother:") {
		t.Errorf("flags outside the groups:\n%s", s[strings.Index(s, "\nother:"):])
	}
}

// freePort returns a free port of network ("tcp" or "udp").
func freePort(t *testing.T, network string) int {
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSIGTERMDrains builds the binary, feeds it traffic, sends SIGTERM and
// expects /readyz 503 "draining" while it drains, then exit status 0.
func TestSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "proxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	udpPort, opsPort := freePort(t, "udp"), freePort(t, "tcp")
	cmd := exec.Command(bin, "-listen", fmt.Sprintf("127.0.0.1:%d", udpPort), "-metrics-addr", fmt.Sprintf("127.0.0.1:%d", opsPort),
		"-iface", "lo", "-ipv4-group-base", "239.79.0.0", "-shard-bits", "2", "-egress-port", fmt.Sprint(freePort(t, "udp")),
		"-drain-timeout", "1500ms", "-drain-quiet", "1s", "-workers", "1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", opsPort)
	waitStatus(t, ready, http.StatusOK, "ok", 10*time.Second)

	c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", udpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // traffic all along, so the drain runs to its timeout
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			c.Write(testFrame(i))
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ready, http.StatusServiceUnavailable, "draining", 1*time.Second)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "proxy stopped") {
		t.Errorf("log lacks the stop line:\n%s", stderr.String())
	}
}

// waitStatus polls url until it answers code with body containing want.
func waitStatus(t *testing.T, url string, code int, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	client := http.Client{Timeout: time.Second}
	last := ""
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			if resp.StatusCode == code && strings.Contains(string(b), want) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: want %d %q within %v, last %q", url, code, want, timeout, last)
}

// testFrame returns unstamped V2 frame i.
func testFrame(i uint64) []byte {
	id := sha256.Sum256(binary.BigEndian.AppendUint64(nil, i))
	return frame.Append(nil, &frame.Frame{Ver: frame.VerTx, ID: id, Payload: []byte("tx")})
}
