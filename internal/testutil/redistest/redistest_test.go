package redistest

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStartPingKillRestart(t *testing.T) {
	s := Start(t)
	if s.Port() == reservedPort {
		t.Fatalf("server on the reserved port %d", reservedPort)
	}
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Do("GET", "k"); got != "v" {
		t.Fatalf("GET k = %q, want v", got)
	}

	s.Kill()
	if s.Running() {
		t.Fatal("Running after Kill")
	}
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Kill() // killing a stopped server is a no-op

	port := s.Port()
	s.Restart()
	if s.Port() != port {
		t.Fatalf("Restart moved the port: %d -> %d", port, s.Port())
	}
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Restart = %q, %v", got, err)
	}
	// Persistence is off: the restarted server is empty.
	if got, _ := s.Do("DBSIZE"); got != "0" {
		t.Fatalf("DBSIZE after restart = %q, want 0", got)
	}
}

func TestFreezeThaw(t *testing.T) {
	s := Start(t)
	s.Freeze()
	conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		t.Fatalf("dial a frozen server: %v (the kernel should still accept)", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(200 * time.Millisecond))
	_, _ = conn.Write([]byte("PING\r\n"))
	if _, err := conn.Read(make([]byte, 16)); err == nil {
		t.Fatal("a frozen server answered")
	}
	s.Thaw()
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Thaw = %q, %v", got, err)
	}
}

// TestParallelStarts starts several servers at once: every one must get its
// own port and answer as itself.
func TestParallelStarts(t *testing.T) {
	const n = 6
	servers := make([]*Server, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { servers[i] = Start(t) })
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, s := range servers {
		if s == nil {
			t.Fatal("a Start failed")
		}
		if seen[s.Port()] {
			t.Fatalf("port %d handed out twice", s.Port())
		}
		seen[s.Port()] = true
		if _, err := s.Do("SET", "owner", strconv.Itoa(s.Port())); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range servers {
		if got, _ := s.Do("GET", "owner"); got != strconv.Itoa(s.Port()) {
			t.Fatalf("server on %d holds owner=%q", s.Port(), got)
		}
	}
}

func TestWithArgs(t *testing.T) {
	s := Start(t, WithArgs("--maxmemory", "12345678"))
	got, err := s.Do("CONFIG", "GET", "maxmemory")
	if err != nil || !strings.HasSuffix(got, "12345678") {
		t.Fatalf("CONFIG GET maxmemory = %q, %v", got, err)
	}
}

func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	if len(c.Addrs()) != 3 {
		t.Fatalf("Addrs = %v", c.Addrs())
	}
	// Every slot is served: a key in each node's ranges is accepted by its
	// owner, and a node redirects keys it does not own.
	owners := map[string]bool{}
	for i := range 64 {
		key := "key-" + strconv.Itoa(i)
		for _, n := range c.Nodes() {
			_, err := n.Do("SET", key, "v")
			if err == nil {
				owners[n.Addr()] = true
				break
			}
			if !strings.HasPrefix(err.Error(), "MOVED") {
				t.Fatalf("SET %s on %s: %v", key, n.Addr(), err)
			}
		}
	}
	if len(owners) != 3 {
		t.Fatalf("64 keys landed on %d masters, want 3", len(owners))
	}

	// A killed and restarted master rejoins from its nodes.conf.
	n := c.Nodes()[1]
	n.Kill()
	n.Restart()
	c.WaitOK()
}

func TestStartClusterTooSmall(t *testing.T) {
	ft := &fatalTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		StartCluster(ft, 2)
	}()
	if !ft.failed {
		t.Fatal("StartCluster(2) did not fail")
	}
}

// fatalTB records Fatalf instead of stopping the real test.
type fatalTB struct {
	testing.TB
	failed bool
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}

func (f *fatalTB) Helper() {}

func TestSentinel(t *testing.T) {
	m := Start(t)
	s := StartSentinel(t, m, "mymaster")
	if got, err := s.Do("SENTINEL", "get-master-addr-by-name", "mymaster"); err != nil || got != "127.0.0.1\n"+strconv.Itoa(m.Port()) {
		t.Fatalf("get-master-addr-by-name = %q, %v", got, err)
	}
	info, _ := s.Do("INFO", "server")
	if !strings.Contains(info, "redis_mode:sentinel") {
		t.Fatalf("not a sentinel:\n%s", info)
	}
	s.Restart() // the rewritten configuration is kept
	if got, _ := s.Do("SENTINEL", "get-master-addr-by-name", "mymaster"); got == "" {
		t.Fatal("sentinel forgot its master after a restart")
	}
}
