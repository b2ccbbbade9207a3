package cache_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/cache/memory"
)

func TestOpenNone(t *testing.T) {
	b, err := cache.Open(cache.Config{Backend: cache.BackendNone})
	if b != nil || err != nil {
		t.Fatalf("Open(none) = %v, %v; want nil, nil", b, err)
	}
}

func TestOpenUnknown(t *testing.T) {
	for _, kind := range []string{"", "memcached"} {
		if b, err := cache.Open(cache.Config{Backend: kind}); b != nil || err == nil {
			t.Errorf("Open(%q) = %v, %v; want an error", kind, b, err)
		}
	}
}

func TestOpenMemory(t *testing.T) {
	if !strings.Contains(strings.Join(cache.Kinds(), ","), cache.BackendMemory) {
		t.Fatalf("Kinds() = %q lacks memory", cache.Kinds())
	}
	b, err := cache.Open(cache.Config{Backend: cache.BackendMemory, MemoryMaxKeys: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.(*memory.Backend); !ok {
		t.Fatalf("Open(memory) = %T", b)
	}
	ctx := context.Background()
	if ok, err := b.SetNX(ctx, []byte("k"), []byte("v"), 0); !ok || err != nil {
		t.Fatalf("SetNX = %v, %v", ok, err)
	}
	if v, err := b.Get(ctx, []byte("k")); string(v) != "v" || err != nil {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func TestOpenValidatesBeforeDialing(t *testing.T) {
	_, err := cache.Open(cache.Config{Backend: cache.BackendRedis})
	if err == nil || !strings.Contains(err.Error(), "RedisAddr") {
		t.Fatalf("Open(redis without address) = %v, want a validation error", err)
	}
	// Negative timeouts mean "default" to Open, which applies defaults first.
	b, err := cache.Open(cache.Config{Backend: cache.BackendMemory, OpTimeout: -1})
	if err != nil {
		t.Fatalf("Open with a negative OpTimeout: %v", err)
	}
	b.Close()
}

func TestOpenNotLinked(t *testing.T) {
	// This test binary links only the memory backend.
	_, err := cache.Open(cache.Config{Backend: cache.BackendRedis, RedisAddr: "127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "not linked") {
		t.Fatalf("Open(redis) without the redis package = %v, want a \"not linked\" error", err)
	}
}
