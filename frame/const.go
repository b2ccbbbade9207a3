package frame

// Common prefix of every datagram (PROTOCOL §1.2).
const (
	// Magic is the BSV mainnet P2P magic that opens every frame and control
	// message. A datagram with another magic is dropped silently.
	Magic uint32 = 0xE3E1F3E8
	// ProtoVer is the protocol version written at offset 4. It is
	// informational: receivers do not validate it.
	ProtoVer uint16 = 0x02BF
)

// Frame versions, carried in byte 6 of data frames.
const (
	// VerLegacy is a BRC-12 legacy transaction frame (44-byte header, never stamped).
	VerLegacy uint8 = 0x01
	// VerTx is a BRC-124 transaction frame; BRC-128 EF transactions use it too.
	VerTx uint8 = 0x02
	// VerFrag is a BRC-130 fragment of a larger V2, V4, V5 or V9 frame.
	VerFrag uint8 = 0x03
	// VerBlock is a BRC-131 block announce (MsgType 0x01) or a deprecated
	// BRC-133 coinbase (MsgType 0x02).
	VerBlock uint8 = 0x04
	// VerSubtree is BRC-132 subtree data (MsgType 0x01 hashes only, 0x02 full nodes).
	VerSubtree uint8 = 0x05
	// VerAnchor is a BRC-134 anchor transaction.
	VerAnchor uint8 = 0x06
	// VerHeader is a BRC-135 block header (80-byte payload), emitted by listeners.
	VerHeader uint8 = 0x07
	// VerBundle is a BRC-142 bundle of transactions (66-byte header).
	VerBundle uint8 = 0x08
	// VerBEEF is a BRC-149 BEEF object on the BRC-148 object plane.
	VerBEEF uint8 = 0x09
)

// Control-message types, carried in byte 6 where data frames carry FrameVer.
const (
	// TypeNACK is a BRC-126 retransmission request (64 bytes).
	TypeNACK uint8 = 0x10
	// TypeMISS is a BRC-126 reply: the endpoint does not hold the frame.
	TypeMISS uint8 = 0x11
	// TypeACK is a BRC-126 reply: the frame was retransmitted.
	TypeACK uint8 = 0x12
	// TypeThrottled is a BRC-126 reply: the request was rate limited; hold and retry.
	TypeThrottled uint8 = 0x13
	// TypeAdvert is a BRC-126 retry-endpoint beacon (56 bytes).
	TypeAdvert uint8 = 0x20
	// TypeSubtreeAnnounce is a BRC-127 subtree-group announce (64 bytes).
	TypeSubtreeAnnounce uint8 = 0x30
	// TypeManifest is a BRC-139 shard manifest (64 bytes plus variable part).
	TypeManifest uint8 = 0x40
)

// Header sizes in bytes.
const (
	// HeaderLenLegacy is the V1 header size.
	HeaderLenLegacy = 44
	// HeaderLenStd is the header size of V2 and the 92-byte layouts (V4–V7, V9).
	HeaderLenStd = 92
	// HeaderLenFrag is the V3 fragment header size.
	HeaderLenFrag = 104
	// HeaderLenBundle is the V8 bundle header size.
	HeaderLenBundle = 66
	// PrefixLen is the length of the common prefix (Magic, ProtoVer, byte 6)
	// that Peek needs.
	PrefixLen = 7
)

// Message types in byte 7 of V4 and V5 frames (and of their fragments).
const (
	// MsgBlockAnnounce is the BRC-131 block announce message type.
	MsgBlockAnnounce uint8 = 0x01
	// MsgBlockCoinbase is the deprecated BRC-133 standalone coinbase message type.
	MsgBlockCoinbase uint8 = 0x02
	// MsgSubtreeHashes is the BRC-132 hashes-only message type.
	MsgSubtreeHashes uint8 = 0x01
	// MsgSubtreeFull is the BRC-132 full-nodes message type.
	MsgSubtreeFull uint8 = 0x02
)

// BundleFlagTxIDs is bit 0 of a V8 bundle's byte 7: every member carries its
// TxID (all or none).
const BundleFlagTxIDs uint8 = 0x01

// HeaderPayloadLen is the payload size a V7 block-header frame must carry.
const HeaderPayloadLen = 80

// Field offsets shared by the 92- and 104-byte layouts.
const (
	offID        = 8
	offHashKey   = 40
	offSeqNum    = 48
	offSubtree   = 56
	offPayload   = 88 // PayloadLen of the 92/104-byte layouts
	offOrigLen   = 92
	offFragIndex = 96
	offFragTotal = 98
	offOrigVer   = 100
	offReserved2 = 101

	offLegacyLen = 40 // PayloadLen of the 44-byte V1 layout

	offBundleGroup   = 56
	offBundleBits    = 58
	offBundleRsv     = 59
	offBundleCount   = 60
	offBundlePayload = 62
)

// HeaderLen returns the header size of frame version ver, or 0 if ver is
// not a data-frame version.
func HeaderLen(ver uint8) int {
	switch ver {
	case VerLegacy:
		return HeaderLenLegacy
	case VerTx, VerBlock, VerSubtree, VerAnchor, VerHeader, VerBEEF:
		return HeaderLenStd
	case VerFrag:
		return HeaderLenFrag
	case VerBundle:
		return HeaderLenBundle
	}
	return 0
}
