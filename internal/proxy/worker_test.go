package proxy

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// stampedCopy returns b with bytes 40–55 set to hk, seq.
func stampedCopy(b []byte, hk, seq uint64) []byte {
	c := append([]byte(nil), b...)
	frame.Stamp(c, hk, seq)
	return c
}

func TestClassificationPaths(t *testing.T) {
	src := frame.SourceID(testSource)
	id := txid(1, 5, 4)
	sub := [32]byte{9: 1}
	tx := txFrame(id, sub, payload(100, 1))
	relay := stampedCopy(txFrame(txid(2, 6, 4), sub, payload(50, 2)), 77, 1234)
	legacy := frame.Append(nil, &frame.Frame{Ver: frame.VerLegacy, ID: txid(3, 7, 4), Payload: payload(60, 3)})
	anchor := frame.Append(nil, &frame.Frame{Ver: frame.VerAnchor, ID: txid(4, 8, 4), Payload: payload(70, 4)})
	anchorStamped := stampedCopy(frame.Append(nil, &frame.Frame{Ver: frame.VerAnchor, ID: txid(14, 8, 4), Payload: payload(70, 4)}), 5, 6)
	block := frame.Append(nil, &frame.Frame{Ver: frame.VerBlock, Byte7: frame.MsgBlockAnnounce, ID: txid(5, 1, 4), Payload: payload(116, 5)})
	coinbase := frame.Append(nil, &frame.Frame{Ver: frame.VerBlock, Byte7: frame.MsgBlockCoinbase, ID: txid(15, 1, 4), Payload: payload(80, 5)})
	subtree := frame.Append(nil, &frame.Frame{Ver: frame.VerSubtree, Byte7: frame.MsgSubtreeHashes, ID: txid(6, 2, 4), Payload: payload(64, 6)})
	frags, err := frame.Fragment(&frame.Frame{Ver: frame.VerTx, ID: txid(7, 3, 4), Payload: payload(3000, 7)}, 1348)
	if err != nil {
		t.Fatal(err)
	}
	fragStamped := stampedCopy(frags[0], 11, 12)
	header := frame.Append(nil, &frame.Frame{Ver: frame.VerHeader, ID: txid(8, 0, 4), Payload: payload(80, 8)})
	var members []byte
	members = frame.AppendMember(members, nil, payload(40, 9))
	bundle := frame.Append(nil, &frame.Frame{Ver: frame.VerBundle, ID: sub, GroupIdx: 3, ShardBits: 4, TxCount: 1, Payload: members})
	bundleStamped := stampedCopy(bundle, 21, 22)
	beef := frame.Append(nil, &frame.Frame{Ver: frame.VerBEEF, ID: txid(9, 0, 4), Payload: []byte{1, 0, 0xBE, 0xEF}})
	announce := make([]byte, 64)
	binary.BigEndian.PutUint32(announce, frame.Magic)
	binary.BigEndian.PutUint16(announce[4:], frame.ProtoVer)
	announce[6] = frame.TypeSubtreeAnnounce
	announce[20] = 0xAA
	nack := append(announce[:6:6], frame.TypeNACK)
	nack = append(nack, make([]byte, 57)...)

	type want struct {
		drop   string // drop reason, or "" when sent
		group  uint16
		hk     uint64 // 0: verbatim
		seq    uint64
		output []byte // nil: the input restamped with hk/seq (or verbatim)
	}
	cases := []struct {
		name    string
		control bool
		in      []byte
		want    want
	}{
		{"v2 novel", false, tx, want{group: 5, hk: frame.HashKey(src, 5, sub), seq: 1}},
		{"v2 duplicate", false, tx, want{drop: "deduplicated"}},
		{"v2 relay", false, relay, want{group: 6}},
		{"v1 legacy", false, legacy, want{group: 7}},
		{"v1 legacy again", false, legacy, want{group: 7}},
		{"v6 anchor", false, anchor, want{group: frame.IdxBlock, hk: frame.HashKey(src, uint32(frame.IdxAnchor), [32]byte{}), seq: 1}},
		{"v6 anchor stamped upstream", false, anchorStamped, want{group: frame.IdxBlock, hk: frame.HashKey(src, uint32(frame.IdxAnchor), [32]byte{}), seq: 2}},
		{"v6 anchor duplicate", false, anchor, want{drop: "deduplicated"}},
		{"v4 unprivileged", false, block, want{drop: "unprivileged_control"}},
		{"v5 unprivileged", false, subtree, want{drop: "unprivileged_control"}},
		{"v4 block", true, block, want{group: frame.IdxBlock, hk: frame.HashKey(src, uint32(frame.IdxBlock), [32]byte{}), seq: 1}},
		{"v4 coinbase", true, coinbase, want{group: frame.IdxBlock, hk: frame.HashKey(src, uint32(frame.IdxCoinbase), [32]byte{}), seq: 1}},
		{"v5 subtree", true, subtree, want{group: frame.IdxSubtreeData, hk: frame.HashKey(src, uint32(frame.IdxSubtreeData), txid(6, 2, 4)), seq: 1}},
		{"v5 subtree again (no claim)", true, subtree, want{group: frame.IdxSubtreeData, hk: frame.HashKey(src, uint32(frame.IdxSubtreeData), txid(6, 2, 4)), seq: 2}},
		{"v3 unstamped", false, frags[0], want{drop: "unstamped_fragment"}},
		{"v3 relay", false, fragStamped, want{group: 3}},
		{"v7", false, header, want{drop: "not_on_fabric"}},
		{"v8 unstamped", false, bundle, want{drop: "unsupported"}},
		{"v8 relay", false, bundleStamped, want{group: 3}},
		{"v9", false, beef, want{drop: "unsupported"}},
		{"0x30 announce", false, announce, want{group: frame.IdxSubtreeAnnounce}},
		{"0x30 announce with trailer", false, append(append([]byte(nil), announce...), 1, 2, 3), want{group: frame.IdxSubtreeAnnounce, output: announce}},
		{"0x30 short", false, announce[:40], want{drop: "short"}},
		{"nack", false, nack, want{drop: "unexpected_control"}},
		{"bad magic", false, append([]byte{1, 2, 3, 4}, tx[4:]...), want{drop: "bad_magic"}},
		{"short", false, tx[:5], want{drop: "short"}},
		{"payload cut", false, tx[:120], want{drop: "truncated"}},
		{"unknown version", false, append(append([]byte(nil), tx[:6]...), append([]byte{0x0C}, tx[7:]...)...), want{drop: "bad_version"}},
	}
	plain := newFakeProxy(t, testOptions(), Deps{})
	o := testOptions()
	o.AcceptControl = true
	priv := newFakeProxy(t, o, Deps{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fp := plain
			if c.control {
				fp = priv
			}
			before := fp.counts()
			fp.feed(c.in)
			got := fp.egress.take()
			after := fp.counts()
			if c.want.drop != "" {
				if len(got) != 0 {
					t.Fatalf("sent %d datagrams, want a drop", len(got))
				}
				if c.want.drop == "deduplicated" {
					if after.dedup != before.dedup+1 {
						t.Errorf("deduplicated %v → %v", before.dedup, after.dedup)
					}
				} else if d := fp.dropped(c.want.drop); d < 1 {
					t.Errorf("dropped{%s} = %v", c.want.drop, d)
				}
				if after.dropped+after.dedup != before.dropped+before.dedup+1 {
					t.Errorf("drops %v → %v", before, after)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("sent %d datagrams, want 1", len(got))
			}
			if g := fp.core.table.Addr(c.want.group); got[0].Addr != g {
				t.Errorf("sent to %v, want %v (group %#x)", got[0].Addr, g, c.want.group)
			}
			want := c.want.output
			if want == nil {
				want = c.in
				if c.want.hk != 0 {
					want = stampedCopy(c.in, c.want.hk, c.want.seq)
				}
			}
			if !bytes.Equal(got[0].Data, want) {
				t.Errorf("sent bytes differ from the expected\n got %x\nwant %x", got[0].Data[:56], want[:min(56, len(want))])
			}
			if after.forwarded != before.forwarded+1 {
				t.Errorf("forwarded %v → %v", before.forwarded, after.forwarded)
			}
		})
	}
}

// counts are the totals the invariant received = forwarded + dedup + dropped
// is checked on.
type counts struct{ received, forwarded, dedup, dropped float64 }

func (fp *fakeProxy) counts() counts {
	var d float64
	for _, c := range fp.m.dropped {
		if c != nil {
			d += testutil.ToFloat64(c)
		}
	}
	return counts{testutil.ToFloat64(fp.m.received), testutil.ToFloat64(fp.m.forwarded),
		testutil.ToFloat64(fp.m.deduplicated), d}
}

func TestTruncatedRead(t *testing.T) {
	fp := newFakeProxy(t, testOptions(), Deps{})
	b := txFrame(txid(1, 1, 4), [32]byte{}, payload(10, 0))
	fp.workers[0].process([]udpio.Message{{Buf: b, N: len(b), Trunc: true}})
	if fp.dropped("truncated") != 1 || len(fp.egress.take()) != 0 {
		t.Fatal("a truncated read was not dropped as truncated")
	}
}

func TestFragmentsReassemble(t *testing.T) {
	fp := newFakeProxy(t, testOptions(), Deps{})
	id := txid(42, 9, 4)
	sub := [32]byte{1: 2}
	orig := payload(8000, 3)
	fp.feed(txFrame(txid(41, 9, 4), sub, payload(10, 1)), txFrame(id, sub, orig))
	got := fp.egress.take()
	if len(got) != 1+frame.FragmentCount(len(orig), 1348) {
		t.Fatalf("sent %d datagrams", len(got))
	}
	hk := frame.HashKey(frame.SourceID(testSource), 9, sub)
	var fs []frame.Frame
	for i, d := range got[1:] {
		f, err := frame.Parse(d.Data)
		if err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if f.Ver != frame.VerFrag || f.HashKey != hk || f.SeqNum != uint64(i+2) || f.ID != id || len(d.Data) > 1500-48 {
			t.Fatalf("fragment %d: ver %d hk %x seq %d len %d", i, f.Ver, f.HashKey, f.SeqNum, len(d.Data))
		}
		if d.Addr != fp.core.table.Addr(9) {
			t.Fatalf("fragment %d to %v", i, d.Addr)
		}
		fs = append(fs, f)
	}
	p, err := frame.Reassemble(fs)
	if err != nil || !bytes.Equal(p, orig) {
		t.Fatalf("reassembly: %v, equal %v", err, bytes.Equal(p, orig))
	}
	if v := testutil.ToFloat64(fp.m.fragments); v != float64(len(fs)) {
		t.Errorf("fragments_total = %v", v)
	}
}

func TestSendErrorsCounted(t *testing.T) {
	fp := newFakeProxy(t, testOptions(), Deps{})
	fp.egress.failEvery = 3
	var in [][]byte
	for i := range 9 {
		in = append(in, txFrame(txid(uint64(i), 1, 4), [32]byte{}, payload(20, 1)))
	}
	fp.feed(in...)
	if e, s := testutil.ToFloat64(fp.m.sendErrors), testutil.ToFloat64(fp.m.sent); e != 3 || s != 6 {
		t.Fatalf("send errors %v, sent %v", e, s)
	}
}

func TestDedupDisabledForwardsAll(t *testing.T) {
	o := testOptions()
	o.DedupCap = 0
	fp := newFakeProxy(t, o, Deps{})
	b := txFrame(txid(1, 1, 4), [32]byte{}, payload(20, 1))
	fp.feed(b, b, b)
	if got := fp.egress.take(); len(got) != 3 {
		t.Fatalf("sent %d, want 3", len(got))
	}
	if r := fp.Ready(); r.Checks["backend"] != "disabled" {
		t.Errorf("backend state %q", r.Checks["backend"])
	}
}
