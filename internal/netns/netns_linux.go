package netns

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mcdedup/mcdedup/internal/systest"
)

// Prefix starts the name of every namespace this package creates; the rest
// is the creating process's pid and a random suffix.
const Prefix = "mcdedup-"

// runDir is where ip netns keeps its namespace bind mounts.
const runDir = "/var/run/netns"

// NS is a network namespace created for one test.
type NS struct {
	name string
	fd   int // open on runDir/name, the handle Run enters

	closeOnce sync.Once
	closeErr  error
}

// sweepOnce sweeps stale namespaces once per test process.
var sweepOnce sync.Once

// New creates a network namespace with lo up and IPv6 duplicate address
// detection off (so addresses are usable at once), and deletes it when the
// test ends. It skips the test (or fails it under REQUIRE_SYSTEM_TESTS=1)
// without root or the ip command.
func New(t testing.TB) *NS {
	t.Helper()
	systest.Root(t)
	systest.Command(t, "ip")
	sweepOnce.Do(func() { sweep(t) })

	name := fmt.Sprintf("%s%d-%08x", Prefix, os.Getpid(), rand.Uint32())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		systest.Missing(t, "cannot create a network namespace: ip netns add: %v: %s", err, bytes.TrimSpace(out))
	}
	n := &NS{name: name, fd: -1}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("netns: %v", err)
		}
	})
	fd, err := unix.Open(filepath.Join(runDir, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("netns: open %s: %v", name, err)
	}
	n.fd = fd
	for _, key := range []string{"net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad"} {
		if err := n.Sysctl(key, "0"); err != nil {
			t.Fatalf("netns: %v", err)
		}
	}
	if _, err := n.Exec(context.Background(), "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("netns: %v", err)
	}
	return n
}

// Name returns the namespace's name, as ip netns knows it.
func (n *NS) Name() string { return n.name }

// Run calls fn on a goroutine locked to an OS thread that has entered the
// namespace, and returns fn's error. Sockets fn opens belong to the namespace
// for their whole life, wherever they are used later. fn must not call
// t.Fatal (it is not the test goroutine); a panic in fn is re-raised in the
// caller. The thread returns to its original namespace afterwards; if that
// fails, it stays locked and exits with the goroutine.
func (n *NS) Run(fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			r.err = fmt.Errorf("netns: open own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			r.err = fmt.Errorf("netns: enter %s: %w", n.name, err)
			return
		}
		defer func() {
			if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
				r.err = fmt.Errorf("netns: leave %s (thread discarded): %w", n.name, err)
				return // still locked: the thread dies with this goroutine
			}
			runtime.UnlockOSThread()
		}()
		defer func() { r.panic = recover() }()
		r.err = fn()
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// Exec runs a command inside the namespace (ip netns exec) and returns its
// combined output; the error includes the output.
func (n *NS) Exec(ctx context.Context, args ...string) ([]byte, error) {
	return n.execInput(ctx, nil, args...)
}

func (n *NS) execInput(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.name}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("netns %s: %s: %w: %s", n.name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// Sysctl sets a kernel parameter (dotted name, e.g.
// "net.ipv4.igmp_max_memberships") inside the namespace. Only per-namespace
// parameters (most of net.*) are affected.
func (n *NS) Sysctl(key, value string) error {
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	return n.Run(func() error {
		if err := os.WriteFile(path, []byte(value), 0); err != nil {
			return fmt.Errorf("netns %s: sysctl %s=%s: %w", n.name, key, value, err)
		}
		return nil
	})
}

// Close deletes the namespace and with it its links; it is idempotent and
// registered with t.Cleanup by New. Sockets still open inside keep the
// namespace alive until they close, but its name is gone.
func (n *NS) Close() error {
	n.closeOnce.Do(func() {
		if n.fd >= 0 {
			unix.Close(n.fd)
		}
		if out, err := exec.Command("ip", "netns", "delete", n.name).CombinedOutput(); err != nil {
			n.closeErr = fmt.Errorf("ip netns delete %s: %w: %s", n.name, err, bytes.TrimSpace(out))
		}
	})
	return n.closeErr
}

// sweep deletes namespaces with our prefix whose creating process is gone:
// leftovers of test binaries that were killed before their cleanups ran.
func sweep(t testing.TB) {
	entries, _ := os.ReadDir(runDir)
	for _, e := range entries {
		pid, ok := creatorPID(e.Name())
		if !ok || pid == os.Getpid() || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		if out, err := exec.Command("ip", "netns", "delete", e.Name()).CombinedOutput(); err != nil {
			t.Logf("netns: sweeping stale %s: %v: %s", e.Name(), err, bytes.TrimSpace(out))
			continue
		}
		t.Logf("netns: swept stale namespace %s", e.Name())
	}
}

// creatorPID parses the pid out of a name made by New.
func creatorPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}
