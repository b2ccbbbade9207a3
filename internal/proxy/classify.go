package proxy

import (
	"slices"

	"github.com/mcdedup/mcdedup/frame"
)

// action is what the worker does with one input frame.
type action uint8

const (
	// actDrop drops the frame and counts it under its reason.
	actDrop action = iota
	// actClaim claims the frame's ID (TxID, anchor TxID, block ContentID)
	// and, when the claim forwards, stamps and sends it (fragmenting it when
	// its payload is above the fragment size).
	actClaim
	// actStamp stamps and sends the frame without a claim (V5 subtree data
	// on an -accept-control proxy).
	actStamp
	// actRelay sends a frame stamped upstream verbatim: no claim, no stamp.
	actRelay
	// actLegacy sends a V1 frame verbatim: no claim, no stamp.
	actLegacy
	// actAnnounce sends a 0x30 subtree-group announce verbatim to 0xFFFC.
	actAnnounce
)

// dropReason indexes the dropped_total{reason} counters. The first values
// are the proxy's own; the frame package's parse reasons follow from
// reasonFrameBase, in the order of frame.Reasons.
type dropReason uint8

const (
	reasonNone                dropReason = iota
	reasonTruncated                      // datagram cut by the receive buffer (frame's "truncated" too)
	reasonUnprivilegedControl            // V4/V5 without -accept-control
	reasonUnstampedFragment              // V3 that no proxy stamped
	reasonNotOnFabric                    // V7 block header (listeners emit it)
	reasonUnsupported                    // V9 BEEF, unstamped V8 bundle
	reasonUnexpectedControl              // NACK, ACK, MISS, THROTTLED, ADVERT, manifest, …
	reasonUnaddressable                  // egress index outside the addressable ranges
	reasonOversize                       // does not fit one datagram and cannot be fragmented
	reasonFrameBase                      // first frame.Reason label
)

// ownReasons are the labels of the proxy's own drop reasons, indexed by
// dropReason.
var ownReasons = [...]string{
	reasonNone:                "",
	reasonTruncated:           "truncated",
	reasonUnprivilegedControl: "unprivileged_control",
	reasonUnstampedFragment:   "unstamped_fragment",
	reasonNotOnFabric:         "not_on_fabric",
	reasonUnsupported:         "unsupported",
	reasonUnexpectedControl:   "unexpected_control",
	reasonUnaddressable:       "unaddressable",
	reasonOversize:            "oversize",
}

var (
	// reasonLabels are all drop labels, indexed by dropReason: the proxy's
	// own, then frame.Reasons(), then "other".
	reasonLabels []string
	// frameReasons maps a frame.Reason label to its dropReason.
	frameReasons map[string]dropReason
	// reasonOther is the dropReason of frame.Reason's "other".
	reasonOther dropReason
)

func init() {
	reasonLabels = append(reasonLabels, ownReasons[:]...)
	frameReasons = make(map[string]dropReason)
	for _, r := range frame.Reasons() {
		if i := slices.Index(reasonLabels, r); i >= 0 {
			frameReasons[r] = dropReason(i) // "truncated": one label for both causes
			continue
		}
		frameReasons[r] = dropReason(len(reasonLabels))
		reasonLabels = append(reasonLabels, r)
	}
	reasonOther = dropReason(len(reasonLabels))
	reasonLabels = append(reasonLabels, "other")
}

// reasonOf returns the dropReason of a frame package error.
func reasonOf(err error) dropReason {
	if r, ok := frameReasons[frame.Reason(err)]; ok {
		return r
	}
	return reasonOther
}

// maxDatagram is the largest UDP payload that one IPv4 datagram carries
// (65535 − 20 − 8); IPv6 allows 20 bytes more, but one bound keeps both
// families alike.
const maxDatagram = 65507

// plan is the classification of one input frame.
type plan struct {
	act     action
	reason  dropReason // actDrop only
	egress  uint16     // group index the frame is sent to
	hashIdx uint32     // groupIdx ingredient of the HashKey (actClaim, actStamp)
	claim   int32      // index of the frame's ID in the claim batch, or -1
	flow    int16      // position of the frame's flow in the batch (frames it stamps)
}

// classifier holds what classification depends on: fixed at New.
type classifier struct {
	limits        frame.Limits
	shardBits     uint
	acceptControl bool
	// fragSize is the fragment data size, at most maxDatagram minus the
	// fragment header so that every fragment fits one datagram; 0 means
	// fragmentation is off.
	fragSize int
}

// classify parses b and decides what to do with it (the package doc's
// table). f receives the parsed frame; its views alias b.
func (c *classifier) classify(b []byte, f *frame.Frame) plan {
	kind, ok := frame.Peek(b)
	if !ok {
		_, err := c.limits.Parse(b) // short or bad magic: let frame name it
		return drop(reasonOf(err))
	}
	if !frame.IsFrameVer(kind) {
		if kind == frame.TypeSubtreeAnnounce {
			if len(b) < announceLen {
				return drop(frameReasons["short"])
			}
			return plan{act: actAnnounce, egress: frame.IdxSubtreeAnnounce, claim: -1}
		}
		if kind >= frame.TypeNACK {
			return drop(reasonUnexpectedControl)
		}
		// Bytes 0x0A–0x0F and 0x00: unknown versions, named by Parse.
	}
	if err := c.limits.ParseInto(f, b); err != nil {
		return drop(reasonOf(err))
	}
	hashIdx, egress, ok := frame.GroupIndexFor(f, c.shardBits, 0)
	if !ok {
		return drop(reasonOther) // Parse accepted what GroupIndexFor does not know
	}
	p := plan{egress: egress, hashIdx: hashIdx, claim: -1}
	switch f.Ver {
	case frame.VerLegacy:
		p.act = actLegacy
	case frame.VerTx:
		p.act = stampedOr(f, actClaim)
	case frame.VerAnchor:
		p.act = actClaim // anchors are always stamped by the ingress proxy
	case frame.VerBlock, frame.VerSubtree:
		if !c.acceptControl {
			return drop(reasonUnprivilegedControl)
		}
		if f.Ver == frame.VerBlock {
			p.act = stampedOr(f, actClaim)
		} else {
			p.act = stampedOr(f, actStamp)
		}
	case frame.VerFrag:
		if !f.IsStamped() {
			return drop(reasonUnstampedFragment)
		}
		p.act = actRelay
	case frame.VerBundle:
		if !f.IsStamped() {
			return drop(reasonUnsupported)
		}
		p.act = actRelay
	case frame.VerHeader:
		return drop(reasonNotOnFabric)
	default: // VerBEEF: the object plane is not built
		return drop(reasonUnsupported)
	}
	if !frame.Addressable(p.egress) {
		return drop(reasonUnaddressable)
	}
	if len(f.Raw) > maxDatagram && !c.fragments(f, p.act) {
		return drop(reasonOversize) // only TCP input gets here
	}
	return p
}

// fragments reports whether a frame the proxy sends under act will be cut
// into BRC-130 fragments if its payload is above the fragment size.
func (c *classifier) fragments(f *frame.Frame, act action) bool {
	return c.fragSize > 0 && (act == actClaim || act == actStamp) && fragmentable(f.Ver)
}

// stampedOr returns actRelay for a frame stamped upstream and act otherwise.
func stampedOr(f *frame.Frame, act action) action {
	if f.IsStamped() {
		return actRelay
	}
	return act
}

// drop returns the plan of a dropped frame.
func drop(r dropReason) plan { return plan{act: actDrop, reason: r, claim: -1} }

// announceLen is the size of a BRC-127 subtree-group announce (0x30).
const announceLen = 64
