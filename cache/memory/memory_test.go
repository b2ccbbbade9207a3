package memory_test

import (
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/cachetest"
	"github.com/mcdedup/mcdedup/cache/memory"
)

func TestConformance(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend { return memory.New(memory.Options{}) },
	})
}

func TestConformanceBounded(t *testing.T) {
	cachetest.Run(t, cachetest.Harness{
		New: func(t *testing.T) cache.Backend {
			return memory.New(memory.Options{MaxKeys: 100000, MaxBytes: 64 << 20, Shards: 8, SweepInterval: time.Millisecond})
		},
	})
}
