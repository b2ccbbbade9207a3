package frame

import "errors"

// Assembly reassembles the fragments of one object (BRC-130). It accepts
// fragments in any order, ignores duplicates (reporting ErrFragDuplicate),
// rejects fragments inconsistent with the first one it saw, and never holds
// more than Limits.MaxObject bytes. It is pure state: no goroutines, no
// timers (the caller owns slot keys, TTLs and eviction). The zero value is
// ready to use; an Assembly is not safe for concurrent use.
//
// Placement rule. Senders cut the payload into fixed-size chunks, the last
// one shorter (AppendFragment), so fragment i lives at i×chunk. The chunk is
// learnt from the first fragment added: a non-last fragment gives it as its
// length; the last fragment gives it as (OrigPayloadLen − its length) /
// (FragTotal − 1), which must divide exactly. Either way
// chunk×(FragTotal−1) < OrigPayloadLen ≤ chunk×FragTotal must hold, and
// every later fragment must be exactly chunk bytes (non-last) or
// OrigPayloadLen − chunk×(FragTotal−1) bytes (last); otherwise ErrFragSize.
// So a last-fragment-first arrival is placed immediately at
// OrigPayloadLen − its length, like any other.
//
// Memory. The buffer grows to the highest byte written so far (doubling,
// capped at OrigPayloadLen), so a slot that only ever saw its first
// fragments holds little; MemSize reports what it holds.
type Assembly struct {
	// Limits validates each fragment (Parse's rules) and bounds the object
	// size by MaxObject; the zero value applies the defaults.
	Limits Limits

	started bool
	hdr     Frame    // identity of the object, from the first fragment (no views)
	chunk   int      // fixed chunk size; 0 until the first fragment is placed
	have    []uint64 // bitmap of received FragIndex values
	got     int      // number of distinct fragments received
	buf     []byte   // object bytes written so far
}

// Add adds one parsed fragment, copying its data. complete is true once
// every fragment is present (including when f completed it). A rejected
// fragment leaves the assembly unchanged: one Parse would reject returns
// Parse's error, one that disagrees with the assembly returns
// ErrFragMismatch or ErrFragSize (both wrap ErrBadFragment), and a
// duplicate (or a late fragment after completion) returns ErrFragDuplicate.
func (a *Assembly) Add(f *Frame) (complete bool, err error) {
	if f.Ver != VerFrag {
		return a.Complete(), ErrBadVersion
	}
	if err := a.Limits.checkFragment(f); err != nil {
		return a.Complete(), err
	}
	if !a.started {
		a.start(f)
	} else if !a.sameObject(f) {
		return a.Complete(), ErrFragMismatch
	}
	i := int(f.FragIndex)
	if a.has(i) {
		return a.Complete(), ErrFragDuplicate
	}
	chunk, err := a.chunkFor(f)
	if err != nil {
		if a.got == 0 {
			a.Reset() // a bad first fragment must not claim the assembly
		}
		return a.Complete(), err
	}
	a.chunk = chunk
	off := i * chunk
	a.grow(off + len(f.Payload))
	copy(a.buf[off:], f.Payload)
	a.have[i/64] |= 1 << (i % 64)
	a.got++
	return a.Complete(), nil
}

// start records the identity of the object from its first fragment.
func (a *Assembly) start(f *Frame) {
	a.started = true
	a.hdr = Frame{
		Ver: f.OrigVer, Byte7: f.Byte7, ID: f.ID, HashKey: f.HashKey,
		SubtreeID: f.SubtreeID, OrigPayloadLen: f.OrigPayloadLen, FragTotal: f.FragTotal,
	}
	words := (int(f.FragTotal) + 63) / 64
	if cap(a.have) >= words {
		a.have = a.have[:words]
		clear(a.have)
	} else {
		a.have = make([]uint64, words)
	}
	a.got, a.chunk = 0, 0
	a.buf = a.buf[:0]
}

func (a *Assembly) sameObject(f *Frame) bool {
	h := &a.hdr
	return f.ID == h.ID && f.OrigVer == h.Ver && f.Byte7 == h.Byte7 &&
		f.SubtreeID == h.SubtreeID && f.OrigPayloadLen == h.OrigPayloadLen &&
		f.FragTotal == h.FragTotal
}

// chunkFor returns the chunk size implied by f, checked against the one
// already learnt (see the placement rule on Assembly).
func (a *Assembly) chunkFor(f *Frame) (int, error) {
	total, orig, n := int(a.hdr.FragTotal), int(a.hdr.OrigPayloadLen), len(f.Payload)
	last := int(f.FragIndex) == total-1
	if total == 1 {
		if n != orig {
			return 0, ErrFragSize
		}
		return orig, nil
	}
	if a.chunk != 0 {
		want := a.chunk
		if last {
			want = orig - a.chunk*(total-1)
		}
		if n != want {
			return 0, ErrFragSize
		}
		return a.chunk, nil
	}
	c := n
	if last {
		if (orig-n)%(total-1) != 0 {
			return 0, ErrFragSize
		}
		c = (orig - n) / (total - 1)
	}
	// OrigPayloadLen ≤ MaxObject and FragTotal ≤ 65535 keep these products
	// far from overflow.
	if c < 1 || c*(total-1) >= orig || orig > c*total {
		return 0, ErrFragSize
	}
	return c, nil
}

// grow extends buf to at least end bytes, doubling its capacity up to
// OrigPayloadLen.
func (a *Assembly) grow(end int) {
	if end <= len(a.buf) {
		return
	}
	if end <= cap(a.buf) {
		a.buf = a.buf[:end]
		return
	}
	nc := max(end, min(2*cap(a.buf), int(a.hdr.OrigPayloadLen)))
	nb := make([]byte, end, nc)
	copy(nb, a.buf)
	a.buf = nb
}

func (a *Assembly) has(i int) bool {
	return a.started && i < len(a.have)*64 && a.have[i/64]&(1<<(i%64)) != 0
}

// Has reports whether fragment i has been received.
func (a *Assembly) Has(i int) bool { return i >= 0 && a.has(i) }

// Complete reports whether every fragment has been received.
func (a *Assembly) Complete() bool { return a.started && a.got == int(a.hdr.FragTotal) }

// Received returns the number of distinct fragments received.
func (a *Assembly) Received() int { return a.got }

// Total returns FragTotal of the object, 0 before the first fragment.
func (a *Assembly) Total() int { return int(a.hdr.FragTotal) }

// Missing returns the number of fragments not yet received.
func (a *Assembly) Missing() int {
	return int(a.hdr.FragTotal) - a.got
}

// MemSize returns the bytes of object data the assembly holds.
func (a *Assembly) MemSize() int { return cap(a.buf) }

// Payload returns the reassembled payload once complete, else nil. It
// aliases the assembly's buffer until Reset.
func (a *Assembly) Payload() []byte {
	if !a.Complete() {
		return nil
	}
	return a.buf[:a.hdr.OrigPayloadLen:a.hdr.OrigPayloadLen]
}

// Frame returns the reassembled frame once complete: Ver is the original
// version (OrigFrameVer 0x00 becomes VerTx), Byte7, ID and SubtreeID are
// those of the fragments, HashKey that of the first fragment added, SeqNum 0
// (each fragment had its own), HeaderLen that of Ver and Payload as returned
// by Payload. Raw is nil: encode with Append if needed. ok is false until
// complete.
func (a *Assembly) Frame() (f Frame, ok bool) {
	if !a.Complete() {
		return Frame{}, false
	}
	f = Frame{Ver: fragOrigVer(a.hdr.Ver), Byte7: a.hdr.Byte7, ID: a.hdr.ID, HashKey: a.hdr.HashKey, SubtreeID: a.hdr.SubtreeID}
	f.HeaderLen = HeaderLen(f.Ver)
	f.Payload = a.Payload()
	return f, true
}

// Reset empties the assembly for another object, keeping its buffers (and
// Limits) for reuse. Assign a zero Assembly instead to release the memory.
func (a *Assembly) Reset() {
	a.started, a.got, a.chunk = false, 0, 0
	a.hdr = Frame{}
	a.buf = a.buf[:0]
}

// Reassemble reassembles a complete fragment set given in any order, with
// default Limits. Duplicates are ignored; any other bad fragment fails the
// whole set, and a set with gaps returns ErrIncomplete.
func Reassemble(frags []Frame) ([]byte, error) {
	var a Assembly
	for i := range frags {
		if _, err := a.Add(&frags[i]); err != nil && !errors.Is(err, ErrFragDuplicate) {
			return nil, err
		}
	}
	if !a.Complete() {
		return nil, ErrIncomplete
	}
	return a.Payload(), nil
}
