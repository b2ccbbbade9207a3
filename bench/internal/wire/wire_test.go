package wire

import (
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

func TestSetParses(t *testing.T) {
	buf := make([]byte, frame.HeaderLenStd+300)
	Init(buf)
	txid, subtree := [32]byte{0xAB, 1, 2, 3}, [32]byte{9: 7}
	f := Set(buf, &txid, &subtree, 0x1122, 7, 100)
	SetStamp(f, 123456789, 42)
	got, err := frame.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Ver != frame.VerTx || got.ID != txid || got.SubtreeID != subtree || got.HashKey != 0x1122 || got.SeqNum != 7 || len(got.Payload) != 100 {
		t.Errorf("parsed %+v", got)
	}
	ts, idx, ok := Stamp(got.Payload)
	if !ok || ts != 123456789 || idx != 42 {
		t.Errorf("Stamp = %d, %d, %v", ts, idx, ok)
	}
	if _, _, ok := Stamp(make([]byte, 15)); ok {
		t.Error("short payload has no stamp")
	}
	// Reuse for a shorter, unstamped frame.
	f = Set(buf, &txid, &subtree, 0, 0, MinPayload)
	if got, err = frame.Parse(f); err != nil || got.IsStamped() || len(got.Payload) != MinPayload {
		t.Errorf("reused buffer: %+v, %v", got, err)
	}
	if Shard(&txid, 4) != 0xA {
		t.Errorf("Shard = %d", Shard(&txid, 4))
	}
	if n := testing.AllocsPerRun(100, func() { SetStamp(Set(buf, &txid, &subtree, 1, 2, 64), 1, 2) }); n != 0 {
		t.Errorf("Set allocates %v", n)
	}
}
