package redis

import (
	"testing"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/cachetest"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// batchPaths are the two implementations of the Batcher methods: the fast
// path (the default) and go-redis pipelines (Options.NoFastPath). Tests of
// batches run against both.
var batchPaths = []struct {
	name   string
	mutate func(*Options)
}{
	{"fast", func(*Options) {}},
	{"goredis", func(o *Options) { o.NoFastPath = true }},
}

// TestConformanceSingle runs the cache conformance suite against a real
// redis-server, batches through each path.
func TestConformanceSingle(t *testing.T) {
	srv := redistest.Start(t)
	for _, p := range batchPaths {
		t.Run(p.name, func(t *testing.T) {
			cachetest.Run(t, cachetest.Harness{
				New: func(t *testing.T) cache.Backend {
					return newBackend(t, []string{srv.Addr()}, false, p.mutate)
				},
			})
		})
	}
}

// TestConformanceCluster runs the cache conformance suite against a real
// three-master Redis Cluster, batches through each path.
func TestConformanceCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	for _, p := range batchPaths {
		t.Run(p.name, func(t *testing.T) {
			cachetest.Run(t, cachetest.Harness{
				New: func(t *testing.T) cache.Backend {
					return newBackend(t, c.Addrs(), true, p.mutate)
				},
			})
		})
	}
}

// TestConformanceSentinel runs the cache conformance suite through a
// Sentinel: the address is the sentinel's, the master is found by name.
// Batches use go-redis pipelines (Sentinel has no fast path).
func TestConformanceSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "mymaster")
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend {
			b := newBackend(t, []string{sentinel.Addr()}, false, func(o *Options) { o.MasterName = "mymaster" })
			if b.fast != nil {
				t.Fatal("a Sentinel Backend took the fast path")
			}
			return b
		},
	})
}
