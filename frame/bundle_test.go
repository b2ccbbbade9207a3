package frame

import (
	"bytes"
	"errors"
	"testing"
)

func collect(f *Frame) ([]Member, error) {
	var out []Member
	it := BundleMembers(f)
	for it.Next() {
		out = append(out, it.Member())
	}
	return out, it.Err()
}

func TestBundleBuildAndIterate(t *testing.T) {
	txs := [][]byte{[]byte("first"), {}, bytes.Repeat([]byte{7}, 300)}
	for _, withID := range []bool{false, true} {
		var payload []byte
		for i, tx := range txs {
			var id *[32]byte
			if withID {
				s := seq32(byte(i))
				id = &s
			}
			payload = AppendMember(payload, id, tx)
		}
		b := Frame{Ver: VerBundle, ID: seq32(0xc0), GroupIdx: 5, ShardBits: 4, TxCount: uint16(len(txs)), Payload: payload}
		if withID {
			b.Byte7 = BundleFlagTxIDs
		}
		f, err := Parse(Append(nil, &b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := collect(&f)
		if err != nil || len(got) != len(txs) {
			t.Fatalf("withID %v: %d members, %v", withID, len(got), err)
		}
		for i, m := range got {
			if !bytes.Equal(m.Tx, txs[i]) || m.HasTxID != withID || (withID && m.TxID != seq32(byte(i))) {
				t.Errorf("withID %v member %d: %+v", withID, i, m)
			}
		}
	}
}

func TestBundleErrors(t *testing.T) {
	one := AppendMember(nil, nil, []byte("abc"))
	cases := []struct {
		name    string
		flags   uint8
		count   uint16
		payload []byte
		want    error
		reason  string
	}{
		{"fewer members than count", 0, 2, one, ErrCountMismatch, "bundle_count"},
		{"bytes left after count", 0, 1, append(one, 0), ErrCountMismatch, "bundle_count"},
		{"zero count with bytes", 0, 0, one, ErrCountMismatch, "bundle_count"},
		{"tx past payload", 0, 1, one[:4], ErrBundleMember, "bundle_member"},
		{"half a length", 0, 2, append(one, 0), ErrBundleMember, "bundle_member"},
		{"txid past payload", BundleFlagTxIDs, 1, one, ErrBundleMember, "bundle_member"},
	}
	for _, c := range cases {
		f := Frame{Ver: VerBundle, Byte7: c.flags, TxCount: c.count, Payload: c.payload}
		if _, err := collect(&f); !errors.Is(err, c.want) || Reason(err) != c.reason {
			t.Errorf("%s: %v (%s), want %v", c.name, err, Reason(err), c.want)
		}
	}
	empty := Frame{Ver: VerBundle}
	if got, err := collect(&empty); len(got) != 0 || err != nil {
		t.Errorf("empty bundle: %v %v", got, err)
	}
	notBundle := Frame{Ver: VerTx, Payload: one}
	if _, err := collect(&notBundle); !errors.Is(err, ErrBadVersion) {
		t.Errorf("not a bundle: %v", err)
	}
}
