package cachetest

import (
	"testing"
	"time"
)

// testTTLExpiry: keys written with a short TTL by SetNX and by Set disappear
// once it passes, a lost SetNX does not extend the TTL, a positive TTL below
// the granularity rounds up (never "no expiry", never an error), and SetNX
// wins again after expiry.
func testTTLExpiry(t *testing.T, sc *scope) {
	ttl, g := sc.shortTTL(), sc.gran()
	kNX, kSet, kTiny := sc.key("setnx"), sc.key("set"), sc.key("tiny")

	start := time.Now()
	if !sc.setNX(kNX, []byte("v"), ttl) {
		t.Fatal("SetNX on a fresh key = false")
	}
	sc.set(kSet, []byte("v"), ttl)
	// A lost SetNX with no expiry must not touch the winner's TTL.
	if sc.setNX(kNX, []byte("loser"), 0) {
		t.Fatal("second SetNX = true")
	}
	if sc.setNX(kTiny, []byte("v"), time.Nanosecond) == false {
		t.Fatal("SetNX with a 1 ns TTL = false on a fresh key")
	}
	// A key may expire up to one granularity early; check presence only
	// while that cannot have happened yet.
	if time.Since(start) < ttl-g {
		sc.wantVal(kNX, []byte("v"))
		sc.wantVal(kSet, []byte("v"))
	}

	time.Sleep(time.Until(start.Add(ttl - g)))
	deadline := start.Add(ttl + g + expirySlop)
	sc.waitGone(kNX, deadline)
	sc.waitGone(kSet, deadline)
	sc.waitGone(kTiny, start.Add(2*g+expirySlop))

	if !sc.setNX(kNX, []byte("again"), longTTL) {
		t.Fatal("SetNX after expiry = false, want true")
	}
	sc.wantVal(kNX, []byte("again"))
}

// testNoExpiry: ttl <= 0 means no expiry; such keys outlive a short TTL.
func testNoExpiry(t *testing.T, sc *scope) {
	ttl, g := sc.shortTTL(), sc.gran()
	kZero, kNeg, kNXZero, kShort := sc.key("zero"), sc.key("neg"), sc.key("nx-zero"), sc.key("short")
	start := time.Now()
	sc.set(kZero, []byte("0"), 0)
	sc.set(kNeg, []byte("-1"), -time.Second)
	if !sc.setNX(kNXZero, []byte("nx"), 0) {
		t.Fatal("SetNX on a fresh key = false")
	}
	sc.set(kShort, []byte("short"), ttl) // the control: it does expire
	sc.waitGone(kShort, start.Add(ttl+g+expirySlop))
	sc.wantVal(kZero, []byte("0"))
	sc.wantVal(kNeg, []byte("-1"))
	sc.wantVal(kNXZero, []byte("nx"))
	// Overwriting an expiring key with ttl 0 clears its expiry.
	kOver := sc.key("overwrite")
	start = time.Now()
	sc.set(kOver, []byte("expiring"), ttl)
	sc.set(kOver, []byte("forever"), 0)
	sc.set(kShort, []byte("short"), ttl)
	sc.waitGone(kShort, start.Add(ttl+g+expirySlop))
	sc.wantVal(kOver, []byte("forever"))
}
