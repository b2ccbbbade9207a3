package redistest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/systest"
)

// StartSentinel runs a Redis Sentinel (redis-server --sentinel) on a free
// loopback port, monitoring master under name with quorum 1, and waits
// until it reports the master's address. It is stopped when the test ends;
// Kill and Restart work as for any Server.
func StartSentinel(t testing.TB, master *Server, name string, opts ...Option) *Server {
	t.Helper()
	bin := systest.Command(t, "redis-server")
	s := start(t, bin, modeSentinel, name+" 127.0.0.1 "+strconv.Itoa(master.Port()), opts)
	deadline := time.Now().Add(DefaultReadyTimeout)
	for {
		got, err := s.Do("SENTINEL", "get-master-addr-by-name", name)
		if err == nil && got == "127.0.0.1\n"+strconv.Itoa(master.Port()) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: sentinel does not report master %s: %q, %v", name, strings.ReplaceAll(got, "\n", ":"), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
