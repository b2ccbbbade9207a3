package frame

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// hx decodes hex written in readable groups (spaces and newlines ignored).
func hx(parts ...string) []byte {
	s := strings.Join(strings.Fields(strings.Join(parts, " ")), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// seq32 returns the 32 bytes start, start+1, …, start+31.
func seq32(start byte) [32]byte {
	var a [32]byte
	for i := range a {
		a[i] = start + byte(i)
	}
	return a
}

// Hex of seq32(0xa0) and seq32(0xc0), written out.
const (
	hexA = "a0a1a2a3a4a5a6a7 a8a9aaabacadaeaf b0b1b2b3b4b5b6b7 b8b9babbbcbdbebf"
	hexC = "c0c1c2c3c4c5c6c7 c8c9cacbcccdcecf d0d1d2d3d4d5d6d7 d8d9dadbdcdddedf"
	hexZ = "0000000000000000 0000000000000000 0000000000000000 0000000000000000"
	pre  = "e3e1f3e8 02bf" // Magic, ProtoVer
)

type golden struct {
	name string
	wire []byte
	want Frame // Payload set; HeaderLen and Raw filled in by the test
}

func goldens() []golden {
	hdr80 := strings.Repeat("00", 76) + "1d00ffff" // an 80-byte block header ending in nBits
	return []golden{
		{"v1", hx(pre, "01 00", hexA, "00000003", "aabbcc"),
			Frame{Ver: VerLegacy, ID: seq32(0xa0), Payload: hx("aabbcc")}},
		{"v2", hx(pre, "02 00", hexA, "0102030405060708", "0000000000000009", hexC, "00000004", "deadbeef"),
			Frame{Ver: VerTx, ID: seq32(0xa0), HashKey: 0x0102030405060708, SeqNum: 9, SubtreeID: seq32(0xc0), Payload: hx("deadbeef")}},
		{"v2-unstamped-empty", hx(pre, "02 00", hexA, "0000000000000000", "0000000000000000", hexZ, "00000000"),
			Frame{Ver: VerTx, ID: seq32(0xa0), Payload: []byte{}}},
		{"v3", hx(pre, "03 00", hexA, "0102030405060708", "000000000000000a", hexC, "00000002",
			"00000005", "0001", "0003", "02", "000000", "0304"),
			Frame{Ver: VerFrag, ID: seq32(0xa0), HashKey: 0x0102030405060708, SeqNum: 10, SubtreeID: seq32(0xc0),
				Payload: hx("0304"), OrigPayloadLen: 5, FragIndex: 1, FragTotal: 3, OrigVer: VerTx}},
		{"v3-block-coinbase", hx(pre, "03 02", hexA, "0000000000000001", "0000000000000002", hexZ, "00000001",
			"00000001", "0000", "0001", "04", "000000", "ff"),
			Frame{Ver: VerFrag, Byte7: MsgBlockCoinbase, ID: seq32(0xa0), HashKey: 1, SeqNum: 2,
				Payload: hx("ff"), OrigPayloadLen: 1, FragTotal: 1, OrigVer: VerBlock}},
		{"v4-announce", hx(pre, "04 01", hexA, "1111111111111111", "0000000000000003", hexZ, "00000002", "0102"),
			Frame{Ver: VerBlock, Byte7: MsgBlockAnnounce, ID: seq32(0xa0), HashKey: 0x1111111111111111, SeqNum: 3, Payload: hx("0102")}},
		{"v4-coinbase", hx(pre, "04 02", hexA, "0000000000000000", "0000000000000000", hexZ, "00000001", "01"),
			Frame{Ver: VerBlock, Byte7: MsgBlockCoinbase, ID: seq32(0xa0), Payload: hx("01")}},
		{"v5", hx(pre, "05 02", hexC, "2222222222222222", "0000000000000004", hexZ, "00000003", "a1a2a3"),
			Frame{Ver: VerSubtree, Byte7: MsgSubtreeFull, ID: seq32(0xc0), HashKey: 0x2222222222222222, SeqNum: 4, Payload: hx("a1a2a3")}},
		{"v6", hx(pre, "06 00", hexA, "3333333333333333", "0000000000000005", hexZ, "00000001", "00"),
			Frame{Ver: VerAnchor, ID: seq32(0xa0), HashKey: 0x3333333333333333, SeqNum: 5, Payload: hx("00")}},
		{"v7", hx(pre, "07 00", hexA, "4444444444444444", "0000000000000006", hexZ, "00000050", hdr80),
			Frame{Ver: VerHeader, ID: seq32(0xa0), HashKey: 0x4444444444444444, SeqNum: 6, Payload: hx(hdr80)}},
		{"v8", hx(pre, "08 01", hexC, "5555555555555555", "0000000000000007", "0a0a", "0c", "00", "0002", "00000048",
			"0003", hexA, "aabbcc", "0001", hexC, "dd"),
			Frame{Ver: VerBundle, Byte7: BundleFlagTxIDs, ID: seq32(0xc0), HashKey: 0x5555555555555555, SeqNum: 7,
				GroupIdx: 0x0a0a, ShardBits: 12, TxCount: 2, Payload: hx("0003", hexA, "aabbcc", "0001", hexC, "dd")}},
		{"v9", hx(pre, "09 00", hexA, "6666666666666666", "0000000000000008", hexC, "00000004", "0100beef"),
			Frame{Ver: VerBEEF, ID: seq32(0xa0), HashKey: 0x6666666666666666, SeqNum: 8, SubtreeID: seq32(0xc0), Payload: hx("0100beef")}},
	}
}

func TestGoldenParse(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			got, err := Parse(g.wire)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := g.want
			want.Proto = ProtoVer
			want.HeaderLen = HeaderLen(want.Ver)
			want.Raw = g.wire
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse mismatch\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestGoldenAppend(t *testing.T) {
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			if got := Append(nil, &g.want); !bytes.Equal(got, g.wire) {
				t.Errorf("Append\n got %x\nwant %x", got, g.wire)
			}
			prefix := []byte("xyz")
			got := AppendHeader(prefix, &g.want)
			if !bytes.Equal(got[:3], prefix) || !bytes.Equal(got[3:], g.wire[:HeaderLen(g.want.Ver)]) {
				t.Errorf("AppendHeader\n got %x\nwant xyz‖%x", got, g.wire[:HeaderLen(g.want.Ver)])
			}
		})
	}
}

func TestGoldenBundleMembers(t *testing.T) {
	var v8 golden
	for _, g := range goldens() {
		if g.name == "v8" {
			v8 = g
		}
	}
	f, err := Parse(v8.wire)
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{
		{TxID: seq32(0xa0), HasTxID: true, Tx: hx("aabbcc")},
		{TxID: seq32(0xc0), HasTxID: true, Tx: hx("dd")},
	}
	var got []Member
	it := BundleMembers(&f)
	for it.Next() {
		got = append(got, it.Member())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("members\n got %+v\nwant %+v", got, want)
	}
}
