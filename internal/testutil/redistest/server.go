// Package redistest runs real redis-server processes for tests: a single
// server (Start), a Redis Cluster of several masters (StartCluster) or a
// Sentinel watching a server (StartSentinel), each on free loopback ports in
// its own temporary directory, stopped when the test ends. Tests use it to exercise the redis cache backend and its callers
// against the real thing, including faults: Kill stops a server abruptly,
// Restart brings it back on the same port, Freeze makes it hang.
//
// A missing redis-server (or redis-cli, for a cluster) skips the test with a
// message, or fails it under REQUIRE_SYSTEM_TESTS=1 (see package systest).
// Servers never use port 6379, so a system redis is left alone.
package redistest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/systest"
)

// Defaults of the waits; every wait in this package is bounded.
const (
	// DefaultReadyTimeout bounds the wait for a started server to answer.
	DefaultReadyTimeout = 10 * time.Second
	// exitTimeout bounds the wait for a killed server to exit.
	exitTimeout = 10 * time.Second
	// startAttempts is how many fresh ports Start tries when a port turns
	// out to be taken between choosing and binding it.
	startAttempts = 5
)

// Option adjusts a server started by Start, StartCluster or StartSentinel.
type Option func(*options)

type options struct {
	args         []string
	readyTimeout time.Duration
}

// WithArgs appends redis-server arguments (for example "--maxmemory",
// "1mb"), after the ones Start always passes.
func WithArgs(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// WithReadyTimeout bounds the wait for the server to answer PING after a
// start or restart (default DefaultReadyTimeout).
func WithReadyTimeout(d time.Duration) Option {
	return func(o *options) { o.readyTimeout = d }
}

// Server is one redis-server process on a loopback port. Its methods must be
// called from the test goroutine (they may call t.Fatal).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	log  string
	opts options

	mode    mode
	port    int    // fixed after the first successful start
	busPort int    // cluster bus port, 0 unless cluster mode
	monitor string // sentinel mode: "name host port" of the monitored master

	mu   sync.Mutex    // guards cmd and done
	cmd  *exec.Cmd     // the running process, nil when stopped
	done chan struct{} // closed when cmd has exited
}

// Start runs redis-server on a free loopback port with persistence disabled
// (--save "" --appendonly no) and protected mode off, in its own temporary
// directory, waits until it answers PING, and registers its shutdown with
// t.Cleanup. A missing redis-server skips the test (or fails it under
// REQUIRE_SYSTEM_TESTS=1).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := systest.Command(t, "redis-server")
	return start(t, bin, modePlain, "", opts)
}

// mode is the kind of server process.
type mode int

const (
	modePlain    mode = iota
	modeCluster       // cluster-enabled, with a bus port
	modeSentinel      // redis-server --sentinel
)

// start builds and starts one server of mode m; monitor is the sentinel's
// master ("name host port").
func start(t testing.TB, bin string, m mode, monitor string, opts []Option) *Server {
	t.Helper()
	o := options{readyTimeout: DefaultReadyTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, log: filepath.Join(dir, "redis.log"), opts: o, mode: m, monitor: monitor}
	t.Cleanup(s.stop)

	nports := 1
	if m == modeCluster {
		nports = 2 // client port and cluster bus port
	}
	var lastErr error
	for range startAttempts {
		ports, err := freePorts(nports)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.port = ports[0]
		if m == modeCluster {
			s.busPort = ports[1]
		}
		if lastErr = s.run(); lastErr == nil {
			return s
		}
		if !errors.Is(lastErr, errExited) {
			break // hung or unreachable: another port will not help
		}
	}
	t.Fatalf("redistest: starting redis-server: %v\n%s", lastErr, s.logTail())
	return nil
}

// errExited reports a server process that exited before it became ready,
// typically because its port was taken in the meantime.
var errExited = errors.New("redis-server exited during startup")

// args returns the command line of the server, writing the sentinel's
// configuration file (which sentinel rewrites) on its first start.
func (s *Server) args() ([]string, error) {
	var a []string
	if s.mode == modeSentinel {
		conf := filepath.Join(s.dir, "sentinel.conf")
		if _, err := os.Stat(conf); err != nil {
			line := "sentinel monitor " + s.monitor + " 1\n"
			if err := os.WriteFile(conf, []byte(line), 0o600); err != nil {
				return nil, err
			}
		}
		a = append(a, conf, "--sentinel")
	}
	a = append(a,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--protected-mode", "no",
		"--daemonize", "no",
		"--dir", s.dir,
		"--logfile", s.log,
	)
	if s.mode != modeSentinel {
		a = append(a, "--save", "", "--appendonly", "no")
	}
	if s.mode == modeCluster {
		a = append(a,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", // relative to --dir
			"--cluster-port", strconv.Itoa(s.busPort),
		)
	}
	return append(a, s.opts.args...), nil
}

// run starts the process and waits until it answers PING as itself.
func (s *Server) run() error {
	args, err := s.args()
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	// Kill the server if the test binary dies without running cleanups
	// (a panic or a test timeout), so no orphan keeps the port.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	if err := s.waitReady(cmd.Process.Pid, done); err != nil {
		s.kill()
		return err
	}
	return nil
}

// waitReady polls the server until it answers PING and reports pid as its
// process id (so that a server of another test that grabbed the same port is
// not mistaken for ours), until it exits, or until the ready timeout.
func (s *Server) waitReady(pid int, done <-chan struct{}) error {
	deadline := time.Now().Add(s.opts.readyTimeout)
	want := "process_id:" + strconv.Itoa(pid)
	for {
		select {
		case <-done:
			return errExited
		default:
		}
		info, err := s.Do("INFO", "server")
		if err == nil {
			if strings.Contains(info, want+"\r\n") || strings.HasSuffix(info, want) {
				return nil
			}
			return fmt.Errorf("port %d answered by another redis-server", s.port)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v: %w", s.opts.readyTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Addr returns the server's "127.0.0.1:port" address.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port returns the server's TCP port. It stays the same across Restart.
func (s *Server) Port() int { return s.port }

// Dir returns the server's working directory (its log is Dir()/redis.log).
func (s *Server) Dir() string { return s.dir }

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Kill stops the server abruptly with SIGKILL (no shutdown, no reply to
// in-flight commands) and waits for the process to exit. Killing a stopped
// server does nothing.
func (s *Server) Kill() {
	s.t.Helper()
	if err := s.kill(); err != nil {
		s.t.Fatalf("redistest: kill %s: %v", s.Addr(), err)
	}
}

// kill is Kill without t: it returns an error instead.
func (s *Server) kill() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-time.After(exitTimeout):
		return fmt.Errorf("pid %d did not exit within %v of SIGKILL", cmd.Process.Pid, exitTimeout)
	}
}

// Restart starts the server again on the same port and directory (a cluster
// node reloads its nodes.conf and rejoins) and waits until it answers. A
// running server is killed first.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	if err := s.run(); err != nil {
		s.t.Fatalf("redistest: restart %s: %v\n%s", s.Addr(), err, s.logTail())
	}
}

// Freeze suspends the server process (SIGSTOP): it keeps its port and the
// kernel still accepts connections, but nothing is answered, like a hung
// server. Thaw resumes it.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a server suspended by Freeze (SIGCONT).
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.t.Fatalf("redistest: %s is not running", s.Addr())
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v to %s: %v", sig, s.Addr(), err)
	}
}

// stop is the t.Cleanup of Start: kill the process, report a failure.
func (s *Server) stop() {
	if err := s.kill(); err != nil {
		s.t.Errorf("redistest: stop %s: %v", s.Addr(), err)
	}
}

// logTail returns the end of the server's log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return "(no redis-server log: " + err.Error() + ")"
	}
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "redis-server log tail:\n" + string(b)
}
