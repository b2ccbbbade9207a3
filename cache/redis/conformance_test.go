package redis

import (
	"testing"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/cachetest"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// TestConformanceSingle runs the cache conformance suite against a real
// redis-server.
func TestConformanceSingle(t *testing.T) {
	srv := redistest.Start(t)
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend {
			return newBackend(t, []string{srv.Addr()}, false)
		},
	})
}

// TestConformanceCluster runs the cache conformance suite against a real
// three-master Redis Cluster.
func TestConformanceCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend {
			return newBackend(t, c.Addrs(), true)
		},
	})
}

// TestConformanceSentinel runs the cache conformance suite through a
// Sentinel: the address is the sentinel's, the master is found by name.
func TestConformanceSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "mymaster")
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend {
			return newBackend(t, []string{sentinel.Addr()}, false, func(o *Options) { o.MasterName = "mymaster" })
		},
	})
}
