package cachetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// testBatch checks that every Batcher operation gives each Op exactly the
// outcome of the single-key method.
func testBatch(t *testing.T, sc *scope) {
	bb, ok := sc.b.(cache.Batcher)
	if !ok {
		t.Skipf("%T does not implement cache.Batcher", sc.b)
	}
	t.Run("Empty", func(t *testing.T) {
		for name, fn := range map[string]func() error{
			"SetNXBatch": func() error { return bb.SetNXBatch(sc.ctx, nil) },
			"SetBatch":   func() error { return bb.SetBatch(sc.ctx, []cache.Op{}) },
			"GetBatch":   func() error { return bb.GetBatch(sc.ctx, nil) },
		} {
			if err := fn(); err != nil {
				t.Errorf("%s of no ops: %v", name, err)
			}
		}
	})
	t.Run("SetNXMixed", func(t *testing.T) {
		k1, k2, k3 := sc.key("mixed-1"), sc.key("mixed-2"), sc.key("mixed-3")
		sc.setNX(k1, []byte("old"), longTTL)
		ops := []cache.Op{
			{Key: k1, Val: []byte("new-1"), TTL: longTTL},
			{Key: k2, Val: []byte("new-2"), TTL: longTTL},
			{Key: k3, Val: []byte("new-3"), TTL: longTTL},
		}
		ops[0].Created = true // a stale result: must be reset to false
		mustBatch(t, "SetNXBatch", bb.SetNXBatch(sc.ctx, ops), ops)
		wantCreated(t, ops, false, true, true)
		sc.wantVal(k1, []byte("old"))
		sc.wantVal(k2, []byte("new-2"))
		sc.wantVal(k3, []byte("new-3"))
		// And the single-key view agrees.
		if sc.setNX(k2, []byte("x"), longTTL) {
			t.Fatal("SetNX after SetNXBatch created the key = true")
		}
	})
	t.Run("SetNXDuplicates", func(t *testing.T) {
		k := sc.key("dup")
		ops := []cache.Op{
			{Key: k, Val: []byte("first"), TTL: longTTL},
			{Key: k, Val: []byte("second"), TTL: longTTL},
			{Key: k, Val: []byte("third"), TTL: longTTL},
		}
		mustBatch(t, "SetNXBatch", bb.SetNXBatch(sc.ctx, ops), ops)
		wantCreated(t, ops, true, false, false)
		sc.wantVal(k, []byte("first"))
	})
	t.Run("GetBatch", func(t *testing.T) {
		k1, k2, miss := sc.key("get-1"), sc.key("get-2"), sc.key("get-miss")
		sc.set(k1, []byte("v1"), longTTL)
		sc.set(k2, []byte{}, longTTL)
		ops := []cache.Op{
			{Key: k1, Val: []byte("stale")},
			{Key: miss, Val: []byte("stale")}, // must be reset to nil
			{Key: k2},
			{Key: k1},
		}
		mustBatch(t, "GetBatch", bb.GetBatch(sc.ctx, ops), ops)
		want := [][]byte{[]byte("v1"), nil, {}, []byte("v1")}
		for i, w := range want {
			if (ops[i].Val == nil) != (w == nil) || !bytes.Equal(ops[i].Val, w) {
				t.Errorf("GetBatch op %d (%q): Val = %#v, want %#v", i, ops[i].Key, ops[i].Val, w)
			}
		}
		// Results are the caller's: no aliasing between ops or with the store.
		ops[0].Val[0] = 'X'
		if string(ops[3].Val) != "v1" {
			t.Errorf("GetBatch results alias each other: %q", ops[3].Val)
		}
		sc.wantVal(k1, []byte("v1"))
	})
	t.Run("SetBatch", func(t *testing.T) { testSetBatch(t, sc, bb) })
	t.Run("Large", func(t *testing.T) { testBatchLarge(t, sc, bb) })
}

// testSetBatch: overwrite, per-op TTL and value isolation.
func testSetBatch(t *testing.T, sc *scope, bb cache.Batcher) {
	ttl, g := sc.shortTTL(), sc.gran()
	kOver, kForever, kShort := sc.key("set-over"), sc.key("set-forever"), sc.key("set-short")
	sc.setNX(kOver, []byte("old"), longTTL)
	ops := []cache.Op{
		{Key: kOver, Val: []byte("new"), TTL: longTTL},
		{Key: kForever, Val: []byte("forever"), TTL: 0},
		{Key: kShort, Val: []byte("short"), TTL: ttl},
	}
	start := time.Now()
	mustBatch(t, "SetBatch", bb.SetBatch(sc.ctx, ops), ops)
	for i := range ops {
		copy(ops[i].Val, "ZZZ") // the caller reuses its buffers at once
	}
	sc.wantVal(kOver, []byte("new"))
	sc.waitGone(kShort, start.Add(ttl+g+expirySlop))
	sc.wantVal(kForever, []byte("forever"))
	sc.wantVal(kOver, []byte("new"))
}

// testBatchLarge: 500 keys in one batch of each kind.
func testBatchLarge(t *testing.T, sc *scope, bb cache.Batcher) {
	const n = 500
	ops := make([]cache.Op, n)
	for i := range ops {
		ops[i] = cache.Op{Key: sc.key(fmt.Sprintf("large-%03d", i)), Val: fmt.Appendf(nil, "a%d", i), TTL: longTTL}
	}
	mustBatch(t, "SetNXBatch", bb.SetNXBatch(sc.ctx, ops), ops)
	for i := range ops {
		if !ops[i].Created {
			t.Fatalf("SetNXBatch op %d: Created = false on a fresh key", i)
		}
	}
	mustBatch(t, "SetNXBatch (again)", bb.SetNXBatch(sc.ctx, ops), ops)
	for i := range ops {
		if ops[i].Created {
			t.Fatalf("second SetNXBatch op %d: Created = true on an existing key", i)
		}
	}
	getAll := func(prefix string) {
		t.Helper()
		get := make([]cache.Op, n)
		for i := range get {
			get[i].Key = ops[i].Key
		}
		mustBatch(t, "GetBatch", bb.GetBatch(sc.ctx, get), get)
		for i := range get {
			if want := fmt.Sprintf("%s%d", prefix, i); string(get[i].Val) != want {
				t.Fatalf("GetBatch op %d = %q, want %q", i, get[i].Val, want)
			}
		}
	}
	getAll("a")
	for i := range ops {
		ops[i].Val = fmt.Appendf(nil, "b%d", i)
	}
	mustBatch(t, "SetBatch", bb.SetBatch(sc.ctx, ops), ops)
	getAll("b")
	sc.wantVal(ops[n-1].Key, fmt.Appendf(nil, "b%d", n-1))
}

// mustBatch fails on a batch error or any per-op error.
func mustBatch(t *testing.T, what string, err error, ops []cache.Op) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for i := range ops {
		if ops[i].Err != nil {
			t.Fatalf("%s op %d (%q): %v", what, i, ops[i].Key, ops[i].Err)
		}
	}
}

// wantCreated compares the Created results of ops.
func wantCreated(t *testing.T, ops []cache.Op, want ...bool) {
	t.Helper()
	for i, w := range want {
		if ops[i].Created != w {
			t.Errorf("op %d (%q): Created = %v, want %v", i, ops[i].Key, ops[i].Created, w)
		}
	}
}
