package cachetest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// testSetNX: create, then exists; the loser changes nothing.
func testSetNX(t *testing.T, sc *scope) {
	k := sc.key("k")
	if !sc.setNX(k, []byte("first"), longTTL) {
		t.Fatal("SetNX on an absent key = false, want true (created)")
	}
	if sc.setNX(k, []byte("second"), longTTL) {
		t.Fatal("SetNX on an existing key = true, want false (exists)")
	}
	sc.wantVal(k, []byte("first"))
	// A key written by Set is "existing" for SetNX too.
	k2 := sc.key("k2")
	sc.set(k2, []byte("by-set"), longTTL)
	if sc.setNX(k2, []byte("by-setnx"), longTTL) {
		t.Fatal("SetNX after Set = true, want false")
	}
	sc.wantVal(k2, []byte("by-set"))
}

// testSetNXRace: many goroutines race SetNX on one key; exactly one wins, and
// the stored value is the winner's.
func testSetNXRace(t *testing.T, sc *scope) {
	const rounds, racers = 20, 16
	for r := range rounds {
		k := sc.key(fmt.Sprintf("race-%d", r))
		var (
			wins   atomic.Int32
			winner atomic.Int32
			start  = make(chan struct{})
			wg     sync.WaitGroup
		)
		for g := range racers {
			wg.Go(func() {
				<-start
				ok, err := sc.b.SetNX(sc.ctx, k, fmt.Appendf(nil, "racer-%d", g), longTTL)
				if err != nil {
					t.Errorf("round %d racer %d: SetNX: %v", r, g, err)
					return
				}
				if ok {
					wins.Add(1)
					winner.Store(int32(g))
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d goroutines won SetNX on one key, want exactly 1", r, n)
		}
		sc.wantVal(k, fmt.Appendf(nil, "racer-%d", winner.Load()))
	}
}

// testConcurrentDistinctKeys: concurrent SetNX on distinct keys all succeed
// and every key reads back its own value.
func testConcurrentDistinctKeys(t *testing.T, sc *scope) {
	const workers, perWorker = 8, 64
	keys := make([][][]byte, workers)
	for w := range keys {
		for i := range perWorker {
			keys[w] = append(keys[w], sc.key(fmt.Sprintf("w%d-%d", w, i)))
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i, k := range keys[w] {
				ok, err := sc.b.SetNX(sc.ctx, k, fmt.Appendf(nil, "v%d-%d", w, i), longTTL)
				if err != nil || !ok {
					t.Errorf("SetNX(%q) = %v, %v; want true, nil", k, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for w := range workers {
		for i, k := range keys[w] {
			sc.wantVal(k, fmt.Appendf(nil, "v%d-%d", w, i))
		}
	}
}

// testSetOverwrite: Set overwrites, including a key created by SetNX.
func testSetOverwrite(t *testing.T, sc *scope) {
	k := sc.key("k")
	sc.set(k, []byte("one"), longTTL)
	sc.set(k, []byte("two"), longTTL)
	sc.wantVal(k, []byte("two"))
	sc.set(k, []byte("a much longer third value"), longTTL)
	sc.wantVal(k, []byte("a much longer third value"))
	sc.set(k, []byte("4"), longTTL)
	sc.wantVal(k, []byte("4"))

	k2 := sc.key("k2")
	sc.setNX(k2, []byte("claimed"), longTTL)
	sc.set(k2, []byte("overwritten"), longTTL)
	sc.wantVal(k2, []byte("overwritten"))
}

// testGetMiss: a missing key is (nil, nil), never an error.
func testGetMiss(t *testing.T, sc *scope) {
	sc.wantMiss(sc.key("never-written"))
}

// testDel: Del removes, and deleting an absent key is not an error.
func testDel(t *testing.T, sc *scope) {
	sc.del(sc.key("never-written"))
	k := sc.key("k")
	sc.setNX(k, []byte("v"), longTTL)
	sc.del(k)
	sc.wantMiss(k)
	sc.del(k) // twice
	if !sc.setNX(k, []byte("again"), longTTL) {
		t.Fatal("SetNX after Del = false, want true")
	}
	sc.wantVal(k, []byte("again"))
}

// testValueIsolation: the backend neither retains the caller's value buffer
// (PEER-LESSONS #1: a reused receive buffer) nor hands out its own.
func testValueIsolation(t *testing.T, sc *scope) {
	buf := []byte("original-value")
	k1, k2 := sc.key("set"), sc.key("setnx")
	sc.set(k1, buf, longTTL)
	copy(buf, "XXXXXXXXXXXXXX") // the caller reuses its buffer at once
	sc.wantVal(k1, []byte("original-value"))

	buf = []byte("original-value")
	sc.setNX(k2, buf, longTTL)
	copy(buf, "YYYYYYYYYYYYYY")
	sc.wantVal(k2, []byte("original-value"))

	got := sc.get(k1)
	copy(got, "ZZZZ")
	got2 := sc.get(k1)
	if !bytes.Equal(got2, []byte("original-value")) {
		t.Fatalf("mutating a Get result changed the stored value: %q", got2)
	}
	copy(got2, "WWWW")
	if bytes.Equal(got, got2) {
		t.Fatal("two Gets returned the same buffer")
	}
}

// testKeyIsolation: the backend does not retain the caller's key buffer.
func testKeyIsolation(t *testing.T, sc *scope) {
	k := sc.key("key-a")
	mutated := bytes.Clone(k)
	mutated[len(mutated)-1] = 'b'
	sc.key("key-b") // for deletion
	sc.set(k, []byte("a"), longTTL)
	orig := bytes.Clone(k)
	copy(k, mutated) // the caller reuses its key buffer
	sc.wantVal(orig, []byte("a"))
	sc.wantMiss(mutated)
}

// testBinarySafe: keys and values may hold any byte.
func testBinarySafe(t *testing.T, sc *scope) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, tc := range []struct {
		name     string
		key, val []byte
	}{
		{"zero-bytes", []byte{0, 0, 0}, []byte{0, 1, 0}},
		{"high-bytes", []byte{0xff, 0xfe, 0x80}, []byte{0xff, 0xff}},
		{"crlf", []byte("a\r\nb"), []byte("\r\n$3\r\nGET\r\n")},
		{"every-byte", all, all},
		{"invalid-utf8", []byte{0xc3, 0x28, 0xa0, 0xa1}, []byte{0xe2, 0x28, 0xa1}},
	} {
		k := sc.rawKey(tc.key)
		sc.set(k, tc.val, longTTL)
		sc.wantVal(k, tc.val)
		k2 := sc.rawKey(append(bytes.Clone(tc.key), 0))
		if !sc.setNX(k2, tc.val, longTTL) {
			t.Fatalf("%s: SetNX = false on a fresh key", tc.name)
		}
		sc.wantVal(k2, tc.val)
	}
	// Keys differing only after a zero byte are distinct.
	a, b := sc.rawKey([]byte{'z', 0, 'a'}), sc.rawKey([]byte{'z', 0, 'b'})
	sc.set(a, []byte("a"), longTTL)
	sc.wantMiss(b)
}

// testEmptyValue: an empty value is stored and reads back as a non-nil empty
// slice, so that a hit stays distinguishable from a miss.
func testEmptyValue(t *testing.T, sc *scope) {
	for _, tc := range []struct {
		name string
		val  []byte
	}{{"empty", []byte{}}, {"nil", nil}} {
		k := sc.key(tc.name)
		sc.set(k, tc.val, longTTL)
		got := sc.get(k)
		if got == nil || len(got) != 0 {
			t.Fatalf("%s value: Get = %#v, want a non-nil empty slice", tc.name, got)
		}
		k2 := sc.key(tc.name + "-nx")
		if !sc.setNX(k2, tc.val, longTTL) {
			t.Fatalf("%s value: SetNX = false on a fresh key", tc.name)
		}
		if got := sc.get(k2); got == nil || len(got) != 0 {
			t.Fatalf("%s value via SetNX: Get = %#v, want a non-nil empty slice", tc.name, got)
		}
	}
}

// testLargeValue: a 64 KiB value (a large frame) round-trips.
func testLargeValue(t *testing.T, sc *scope) {
	v := make([]byte, 64<<10)
	for i := range v {
		v[i] = byte(i * 7)
	}
	k := sc.key("large")
	sc.set(k, v, longTTL)
	sc.wantVal(k, v)
}
