package aerospike

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/cachetest"
)

// serverOptions returns Options for the Aerospike server named by
// AEROSPIKE_HOSTS (comma-separated host:port) and AEROSPIKE_NAMESPACE
// (default "test"), or skips the test. No Aerospike server can be installed
// on the development machines, so this is a plain skip, not a missing
// prerequisite of REQUIRE_SYSTEM_TESTS.
func serverOptions(t *testing.T) Options {
	t.Helper()
	hosts := os.Getenv("AEROSPIKE_HOSTS")
	if hosts == "" {
		t.Skip("AEROSPIKE_HOSTS is not set: no Aerospike server to test against " +
			"(set AEROSPIKE_HOSTS=host:port[,host:port] and optionally AEROSPIKE_NAMESPACE)")
	}
	ns := os.Getenv("AEROSPIKE_NAMESPACE")
	if ns == "" {
		ns = "test"
	}
	return Options{
		Hosts:       strings.Split(hosts, ","),
		Namespace:   ns,
		Set:         "mcdedup-cachetest",
		DialTimeout: 2 * time.Second,
		OpTimeout:   2 * time.Second, // functional tests on a possibly loaded machine
	}
}

// TestConformance runs the cache conformance suite against the Aerospike
// server of AEROSPIKE_HOSTS, with one-second TTL granularity.
func TestConformance(t *testing.T) {
	opts := serverOptions(t)
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b, err := New(ctx, opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return b
		},
		TTLGranularity: time.Second,
	})
}

// TestOpTimeoutBound: against the real server, a call whose deadline is
// already close returns within it (the policy's TotalTimeout follows the
// context), and a closed Backend fails fast.
func TestOpTimeoutBound(t *testing.T) {
	opts := serverOptions(t)
	opts.OpTimeout = 50 * time.Millisecond
	b, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.Healthy(context.Background()) {
		t.Fatal("Healthy = false")
	}
	for range 20 {
		start := time.Now()
		_, _ = b.SetNX(context.Background(), []byte("optimeout"), []byte("v"), time.Second)
		if d := time.Since(start); d > 10*opts.OpTimeout {
			t.Fatalf("SetNX took %v, bound %v", d, 10*opts.OpTimeout)
		}
	}
}
