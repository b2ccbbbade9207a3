package frame

import "encoding/binary"

// Group indices: the low 16 bits of a multicast group address (PROTOCOL §3.3).
const (
	// MaxShardBits is the widest tx shard (and BEEF plane) width: 4096 groups.
	MaxShardBits = 12
	// IdxBEEFBase is the first index of the BRC-148 BEEF object plane
	// (0x1000–0x1FFF).
	IdxBEEFBase uint16 = 0x1000
	// IdxCoinbase is the virtual HashKey ingredient of deprecated V4
	// coinbase frames; never an address (they egress on IdxBlock).
	IdxCoinbase uint16 = 0xFFF8
	// IdxAnchor is the virtual HashKey ingredient of V6 anchor frames; never
	// an address (they egress on IdxBlock).
	IdxAnchor uint16 = 0xFFF9
	// IdxHeader is the BRC-135 block-header group.
	IdxHeader uint16 = 0xFFFA
	// IdxSubtreeData is the BRC-132 subtree-data group.
	IdxSubtreeData uint16 = 0xFFFB
	// IdxSubtreeAnnounce is the BRC-127 subtree-group announce group.
	IdxSubtreeAnnounce uint16 = 0xFFFC
	// IdxBeacon is the beacon group shared by ADVERT and the BRC-139 manifest.
	IdxBeacon uint16 = 0xFFFD
	// IdxBlock is the block broadcast group (BRC-131, 133, 134).
	IdxBlock uint16 = 0xFFFE
)

// ShardIndex returns the top bits of the big-endian uint32 at txid[0:4]:
// BE32(txid[0:4]) >> (32-bits). The TxID is in internal (wire) byte order.
// bits 0 means a single group and returns 0 (no shift by 32); bits above 32
// are treated as 32. Tx shards use bits 1–MaxShardBits.
func ShardIndex(txid *[32]byte, bits uint) uint32 {
	if bits == 0 {
		return 0
	}
	v := binary.BigEndian.Uint32(txid[:4])
	if bits >= 32 {
		return v
	}
	return v >> (32 - bits)
}

// BEEFIndex returns the BEEF-plane group index IdxBEEFBase + shard(topic)
// for a TopicID, with bits clamped to MaxShardBits so the index stays in the
// plane.
func BEEFIndex(topic *[32]byte, bits uint) uint16 {
	return IdxBEEFBase + uint16(ShardIndex(topic, min(bits, MaxShardBits)))
}

// GroupIndexFor returns, for a parsed frame, the groupIdx ingredient of its
// HashKey (PROTOCOL §1.5, §2) and the group index it egresses on
// (retransmits included, §5.3):
//
//	V1, V2        shard(TxID)                        both
//	V3            as its OrigVer (0x00 counts as V2)
//	V4 announce   0xFFFE                             egress 0xFFFE
//	V4 coinbase   0xFFF8 (virtual)                   egress 0xFFFE
//	V5            0xFFFB                             both
//	V6            0xFFF9 (virtual)                   egress 0xFFFE
//	V7            0xFFFA                             both
//	V8            header GroupIdx                    both
//	V9            0x1000 + shard(TopicID at off 56)  both
//
// txBits is the tx shard width and beefBits the BEEF plane width; both are
// clamped to MaxShardBits. ok is false for a version or message type Parse
// would reject.
func GroupIndexFor(f *Frame, txBits, beefBits uint) (hashIdx uint32, egressIdx uint16, ok bool) {
	ver, msg := f.Ver, f.Byte7
	if ver == VerFrag {
		if ver = fragOrigVer(f.OrigVer); ver == 0 {
			return 0, 0, false
		}
	}
	switch ver {
	case VerLegacy, VerTx:
		idx := uint16(ShardIndex(&f.ID, min(txBits, MaxShardBits)))
		return uint32(idx), idx, true
	case VerBlock:
		switch msg {
		case MsgBlockAnnounce:
			return uint32(IdxBlock), IdxBlock, true
		case MsgBlockCoinbase:
			return uint32(IdxCoinbase), IdxBlock, true
		}
	case VerSubtree:
		if msg == MsgSubtreeHashes || msg == MsgSubtreeFull {
			return uint32(IdxSubtreeData), IdxSubtreeData, true
		}
	case VerAnchor:
		return uint32(IdxAnchor), IdxBlock, true
	case VerHeader:
		return uint32(IdxHeader), IdxHeader, true
	case VerBundle:
		return uint32(f.GroupIdx), f.GroupIdx, true
	case VerBEEF:
		idx := BEEFIndex(&f.SubtreeID, beefBits)
		return uint32(idx), idx, true
	}
	return 0, 0, false
}

// SubtreeIngredient returns the subtree part of a frame's HashKey input
// (PROTOCOL §2): the off-56 SubtreeID for V1/V2 (zeros for V1), the off-8
// SubtreeID for V5 and V8, zeros for V4, V6, V7 and V9 (the BEEF TopicID is
// excluded). A fragment uses its OrigVer's rule; its off-8 and off-56 values
// are those of the original frame.
func SubtreeIngredient(f *Frame) [32]byte {
	ver := f.Ver
	if ver == VerFrag {
		ver = fragOrigVer(f.OrigVer)
	}
	switch ver {
	case VerLegacy, VerTx:
		return f.SubtreeID
	case VerSubtree, VerBundle:
		return f.ID
	}
	return [32]byte{}
}

// fragOrigVer maps a fragment's OrigFrameVer to the version whose rules it
// follows (0x00 means V2), or 0 if fragments of that version are undefined.
func fragOrigVer(v uint8) uint8 {
	switch v {
	case 0:
		return VerTx
	case VerTx, VerBlock, VerSubtree, VerBEEF:
		return v
	}
	return 0
}
