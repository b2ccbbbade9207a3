package memory_test

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache/memory"
)

// The memory backend allocates only the copies its contract requires: the
// stored key and value on a create, the returned value on a hit.
func TestAllocsPerOp(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, memory.Options{SweepInterval: -1})
	hit, miss, val := []byte("hit-key"), []byte("miss-key"), make([]byte, 100)
	must(t, b.Set(ctx, hit, val, time.Minute))
	fresh := make([][]byte, 1000)
	for i := range fresh {
		fresh[i] = key(i)
		must(t, b.Set(ctx, fresh[i], val, 0)) // grow the map and the slab
	}
	for _, k := range fresh {
		must(t, b.Del(ctx, k))
	}
	var n int
	for _, tc := range []struct {
		name string
		want float64
		op   func()
	}{
		{"Get miss", 0, func() { _, _ = b.Get(ctx, miss) }},
		{"Get hit", 1, func() { _, _ = b.Get(ctx, hit) }},
		{"SetNX exists", 0, func() { _, _ = b.SetNX(ctx, hit, val, time.Minute) }},
		{"SetNX create", 2, func() { _, _ = b.SetNX(ctx, fresh[n%len(fresh)], val, time.Minute); n++ }},
		{"Set overwrite", 1, func() { _ = b.Set(ctx, hit, val, time.Minute) }},
		{"Del", 0, func() { _ = b.Del(ctx, miss) }},
	} {
		if got := testing.AllocsPerRun(100, tc.op); got > tc.want {
			t.Errorf("%s: %.1f allocs/op, want ≤ %.0f", tc.name, got, tc.want)
		}
	}
}

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = binary.BigEndian.AppendUint64([]byte("bsp:tx:"), uint64(i)*0x9e3779b97f4a7c15)
	}
	return keys
}

const benchKeyCount = 1 << 16

func BenchmarkSetNX(b *testing.B) {
	m := memory.New(memory.Options{MaxKeys: benchKeyCount / 2})
	defer m.Close()
	keys, val, ctx := benchKeys(benchKeyCount), []byte("1"), context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = m.SetNX(ctx, keys[i%benchKeyCount], val, time.Minute)
		i++
	}
}

func BenchmarkSetNXExists(b *testing.B) {
	m := memory.New(memory.Options{})
	defer m.Close()
	key, val, ctx := []byte("bsp:tx:existing"), []byte("1"), context.Background()
	_, _ = m.SetNX(ctx, key, val, time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = m.SetNX(ctx, key, val, time.Minute)
	}
}

// filled returns a backend holding 1024 keys with 200-byte values, and the
// keys.
func filled(b *testing.B) (*memory.Backend, [][]byte) {
	m := memory.New(memory.Options{})
	b.Cleanup(func() { m.Close() })
	keys, val := benchKeys(1024), make([]byte, 200)
	for _, k := range keys {
		_ = m.Set(context.Background(), k, val, time.Minute)
	}
	return m, keys
}

func BenchmarkGetHit(b *testing.B) {
	m, keys := filled(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = m.Get(ctx, keys[i%len(keys)])
		i++
	}
}

func BenchmarkGetMiss(b *testing.B) {
	m := memory.New(memory.Options{})
	defer m.Close()
	key, ctx := []byte("bsp:tx:missing"), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = m.Get(ctx, key)
	}
}

func BenchmarkSetNXParallel(b *testing.B) {
	m := memory.New(memory.Options{MaxKeys: benchKeyCount / 2})
	defer m.Close()
	keys, val, ctx := benchKeys(benchKeyCount), []byte("1"), context.Background()
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1) * 7919)
		for pb.Next() {
			_, _ = m.SetNX(ctx, keys[i%benchKeyCount], val, time.Minute)
			i++
		}
	})
}

func BenchmarkGetHitParallel(b *testing.B) {
	m, keys := filled(b)
	ctx := context.Background()
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1) * 131)
		for pb.Next() {
			_, _ = m.Get(ctx, keys[i%len(keys)])
			i++
		}
	})
}
