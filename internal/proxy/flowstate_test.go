package proxy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

// TestFlowStateRoundTrip: flows saved by one table continue their numbering
// in the next within -flow-idle, on any clock origin; the file is removed
// once read; flows last used longer ago start over.
func TestFlowStateRoundTrip(t *testing.T) {
	const idle = 1000
	src := frame.SourceID(testSource)
	path := filepath.Join(t.TempDir(), "flows")
	a := newFlowTable(src, 1<<12, idle)
	subs := make([][32]byte, 300)
	for i := range subs {
		subs[i] = [32]byte{byte(i), byte(i >> 8), 7}
		for range i%5 + 1 {
			a.reserve(uint32(i%16), &subs[i], 1, 100)
		}
	}
	a.reserve(99, &[32]byte{}, 3, 0)            // an older flow: next 4, last used at 0
	const aEpoch, bEpoch = 5_000_000, 5_000_500 // wall clock at each run's clock zero
	n, err := saveFlowState(a, path, func(c int64) int64 { return aEpoch + c })
	if err != nil || n != len(subs)+1 {
		t.Fatalf("saved %d flows, err %v; want %d", n, err, len(subs)+1)
	}

	b := newFlowTable(src, 1<<12, idle)
	n, err = loadFlowState(b, path, func(w int64) int64 { return w - bEpoch })
	if err != nil || n != len(subs)+1 {
		t.Fatalf("loaded %d flows, err %v; want %d", n, err, len(subs)+1)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file still there after loading (%v)", err)
	}
	// b's clock 500 is a's clock 1000: the flows a used at 100 are 900
	// old, within idle; the one used at 0 is 1000 old: void.
	for i := range subs {
		if _, s := b.reserve(uint32(i%16), &subs[i], 1, 500); s != uint64(i%5+2) {
			t.Fatalf("flow %d: SeqNum %d after a restart, want %d", i, s, i%5+2)
		}
	}
	if _, s := b.reserve(99, &[32]byte{}, 1, 501); s != 1 {
		t.Fatalf("flow idle past -flow-idle: SeqNum %d, want 1", s)
	}
	if b.resumed.Load() != uint64(len(subs)) {
		t.Fatalf("resumed %d, want %d", b.resumed.Load(), len(subs))
	}
	if n, err := loadFlowState(b, path, func(w int64) int64 { return w }); n != 0 || err != nil {
		t.Fatalf("missing file: %d flows, %v", n, err)
	}
}

// TestFlowStateRejects: a file of another flow source, of a size that does
// not match its count, or not a state file at all, resumes nothing.
func TestFlowStateRejects(t *testing.T) {
	src := frame.SourceID(testSource)
	a := newFlowTable(src, 64, 1e12)
	for i := range 10 {
		a.reserve(uint32(i), &[32]byte{}, 5, 1)
	}
	var good bytes.Buffer
	if _, err := a.writeState(&good, func(c int64) int64 { return c }); err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(good.Bytes())
	other[8] ^= 1 // another flow source
	zeroSeq := bytes.Clone(good.Bytes())
	clear(zeroSeq[flowStateHeader+36 : flowStateHeader+44]) // first record's next SeqNum
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"another flow source", other},
		{"truncated", good.Bytes()[:good.Len()-1]},
		{"trailing bytes", append(bytes.Clone(good.Bytes()), 0)},
		{"not a state file", []byte("hello, world: not a flow state file at all")},
		{"empty", nil},
		{"SeqNum 0", zeroSeq},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flows")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			b := newFlowTable(src, 64, 1e12)
			n, err := loadFlowState(b, path, func(w int64) int64 { return w })
			if err == nil || n != 0 {
				t.Fatalf("loaded %d flows, err %v: want a rejection", n, err)
			}
			if _, s := b.reserve(3, &[32]byte{}, 1, 2); s != 1 {
				t.Fatalf("a rejected file resumed a flow at %d", s)
			}
		})
	}
}

// TestProxyResumesFlowsAcrossRestart: a proxy with -state-file saves its
// flows when it closes, and the next one continues their SeqNums; a flow
// the second run did not see is carried over to the third.
func TestProxyResumesFlowsAcrossRestart(t *testing.T) {
	o := testOptions()
	o.StateFile = filepath.Join(t.TempDir(), "flows")
	subA, subB := [32]byte{3: 3}, [32]byte{4: 4}
	n := uint64(0)
	send := func(fp *fakeProxy, sub [32]byte) (hashKey, seq uint64) {
		t.Helper()
		n++
		before := len(fp.egress.sent)
		fp.feed(txFrame(txid(n, 2, 4), sub, payload(40, byte(n))))
		if len(fp.egress.sent) != before+1 {
			t.Fatalf("frame %d not sent", n)
		}
		f, err := frame.Parse(fp.egress.sent[before].Data)
		if err != nil {
			t.Fatal(err)
		}
		return f.HashKey, f.SeqNum
	}
	hkA, hkB := frame.HashKey(frame.SourceID(testSource), 2, subA), frame.HashKey(frame.SourceID(testSource), 2, subB)

	first := newFakeProxy(t, o, Deps{})
	for range 5 {
		send(first, subA)
	}
	for range 3 {
		send(first, subB)
	}
	first.Close()
	if _, err := os.Stat(o.StateFile); err != nil {
		t.Fatalf("no state file after Close: %v", err)
	}

	second := newFakeProxy(t, o, Deps{})
	if hk, seq := send(second, subA); hk != hkA || seq != 6 {
		t.Fatalf("second run, flow A: HashKey %x SeqNum %d, want %x and 6", hk, seq, hkA)
	}
	if v := second.core.flows.resumed.Load(); v != 1 {
		t.Fatalf("flows resumed %d, want 1", v)
	}
	second.Close()

	third := newFakeProxy(t, o, Deps{})
	if hk, seq := send(third, subB); hk != hkB || seq != 4 {
		t.Fatalf("third run, flow B (not seen in the second): HashKey %x SeqNum %d, want %x and 4", hk, seq, hkB)
	}
	if hk, seq := send(third, subA); hk != hkA || seq != 7 {
		t.Fatalf("third run, flow A: HashKey %x SeqNum %d, want %x and 7", hk, seq, hkA)
	}
}

// FuzzFlowState: any file content is read without a panic, and the tombs it
// leaves stay within the table's bound.
func FuzzFlowState(f *testing.F) {
	src := frame.SourceID(testSource)
	a := newFlowTable(src, 64, 1e12)
	for i := range 5 {
		a.reserve(uint32(i), &[32]byte{byte(i)}, uint64(i+1), int64(i))
	}
	var good bytes.Buffer
	if _, err := a.writeState(&good, func(c int64) int64 { return c }); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte(flowStateMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newFlowTable(src, 8, 1e12) // one shard of 8: the bound is easy to hit
		n, err := b.readState(bytes.NewReader(data), int64(len(data)), func(w int64) int64 { return w })
		if err == nil && flowStateHeader+int64(n)*flowStateRecord != int64(len(data)) {
			t.Fatalf("accepted %d flows from %d bytes", n, len(data))
		}
		for i := range b.shards {
			if ts := &b.shards[i].tombs; ts.n > b.perShard || len(ts.at) > b.perShard {
				t.Fatalf("shard %d: %d tombs, %d indexed, bound %d", i, ts.n, len(ts.at), b.perShard)
			}
		}
		for k := range uint32(8) { // flows come back without a panic, numbered from ≥ 1
			if _, s := b.reserve(k, &[32]byte{byte(k)}, 1, 1); s == 0 {
				t.Fatalf("flow %d: SeqNum 0", k)
			}
		}
	})
}
