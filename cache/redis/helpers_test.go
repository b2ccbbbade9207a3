package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// Operation timeouts of the backends under test. Functional tests use a
// long one: they check behaviour, and the test machine may be loaded. Fault
// tests use a short one and check that calls end within a generous multiple
// of it.
const (
	testOpTimeout  = 2 * time.Second
	faultOpTimeout = 100 * time.Millisecond
)

// newBackend connects a Backend to addrs (a cluster when cluster is set),
// after mutate adjusts the options, and closes it when the test ends.
func newBackend(t testing.TB, addrs []string, cluster bool, mutate ...func(*Options)) *Backend {
	t.Helper()
	opts := Options{Addrs: addrs, Cluster: cluster, OpTimeout: testOpTimeout, DialTimeout: time.Second}
	for _, m := range mutate {
		m(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New(%v): %v", addrs, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// serverTarget is a deployment under test: one server, or a cluster's seeds.
type serverTarget struct {
	name    string
	addrs   []string
	cluster bool
}

// startTargets starts a single redis-server and a three-master cluster.
func startTargets(t testing.TB) []serverTarget {
	t.Helper()
	srv := redistest.Start(t)
	cl := redistest.StartCluster(t, 3)
	return []serverTarget{{"single", []string{srv.Addr()}, false}, {"cluster", cl.Addrs(), true}}
}

// storedOps stores n keys prefix:000, prefix:001 … (value "v", one hour)
// and returns their ops, for batches over keys that exist.
func storedOps(t *testing.T, b *Backend, prefix string, n int) []cache.Op {
	t.Helper()
	ops := make([]cache.Op, n)
	for i := range ops {
		ops[i] = cache.Op{Key: fmt.Appendf(nil, "%s:%03d", prefix, i), Val: []byte("v"), TTL: time.Hour}
	}
	if err := b.SetBatch(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
	return ops
}
