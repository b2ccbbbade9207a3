package frame

import "encoding/binary"

// MaxMemberLen is the largest transaction a bundle member can carry (TxLen
// is a uint16).
const MaxMemberLen = 0xFFFF

// Member is one transaction of a V8 bundle: TxLen u16 ‖ [TxID 32] ‖ Tx.
type Member struct {
	// TxID is the member's TxID when the bundle has BundleFlagTxIDs, else zero.
	TxID [32]byte
	// HasTxID reports whether the member carries a TxID.
	HasTxID bool
	// Tx is the transaction, a view into the bundle's payload.
	Tx []byte
}

// Members iterates over the members of a parsed V8 bundle, in the manner of
// bufio.Scanner:
//
//	it := frame.BundleMembers(&f)
//	for it.Next() {
//		m := it.Member()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//
// It never allocates. Err is ErrBundleMember when a member runs past
// PayloadLen and ErrCountMismatch when the members do not consume PayloadLen
// exactly in TxCount members.
type Members struct {
	rest   []byte
	withID bool
	left   int
	cur    Member
	err    error
}

// BundleMembers returns an iterator over the members of f, which must be a
// V8 frame (otherwise the iterator yields nothing and Err is ErrBadVersion).
func BundleMembers(f *Frame) Members {
	if f.Ver != VerBundle {
		return Members{err: ErrBadVersion}
	}
	return Members{rest: f.Payload, withID: f.Byte7&BundleFlagTxIDs != 0, left: int(f.TxCount)}
}

// Next advances to the next member and reports whether there is one.
func (it *Members) Next() bool {
	if it.err != nil {
		return false
	}
	if it.left == 0 {
		if len(it.rest) != 0 {
			it.err = ErrCountMismatch
		}
		return false
	}
	if len(it.rest) < 2 {
		it.err = ErrCountMismatch
		if len(it.rest) != 0 {
			it.err = ErrBundleMember
		}
		return false
	}
	n := int(binary.BigEndian.Uint16(it.rest))
	p := it.rest[2:]
	it.cur = Member{HasTxID: it.withID}
	if it.withID {
		if len(p) < 32 {
			it.err = ErrBundleMember
			return false
		}
		copy(it.cur.TxID[:], p[:32])
		p = p[32:]
	}
	if len(p) < n {
		it.err = ErrBundleMember
		return false
	}
	it.cur.Tx = p[:n:n]
	it.rest = p[n:]
	it.left--
	return true
}

// Member returns the current member; valid after Next returned true.
func (it *Members) Member() Member { return it.cur }

// Err returns the first error met, or nil when every member was read.
func (it *Members) Err() error { return it.err }

// AppendMember appends one member to a bundle payload being built: TxLen,
// then the TxID if txid is not nil (a bundle's members carry all or none),
// then tx, which must be at most MaxMemberLen bytes.
func AppendMember(dst []byte, txid *[32]byte, tx []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(tx)))
	if txid != nil {
		dst = append(dst, txid[:]...)
	}
	return append(dst, tx...)
}
