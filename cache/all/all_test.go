package all

import (
	"slices"
	"testing"

	"github.com/mcdedup/mcdedup/cache"
)

// TestEveryBackendRegistered: importing the package links every kind Open
// knows about (BackendNone needs no registration).
func TestEveryBackendRegistered(t *testing.T) {
	for _, kind := range []string{cache.BackendMemory, cache.BackendRedis, cache.BackendAerospike} {
		if !slices.Contains(cache.Kinds(), kind) {
			t.Errorf("kind %q not registered; have %v", kind, cache.Kinds())
		}
	}
}

// TestOpenMemory opens the zero-infrastructure backend through the registry.
func TestOpenMemory(t *testing.T) {
	b, err := cache.Open(cache.Config{Backend: cache.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ok, err := b.SetNX(t.Context(), []byte("k"), []byte("v"), 0)
	if err != nil || !ok {
		t.Fatalf("SetNX = %v, %v", ok, err)
	}
}
