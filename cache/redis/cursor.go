package redis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/mcdedup/mcdedup/cache"
)

// scanPos is the backend-specific part of a listing cursor (the Pos of a
// cache.ListCursor): where the listing resumes.
//
// Encoding: version byte (1) ‖ CRC-32 (IEEE) of the pattern, 4 bytes big
// endian ‖ flags byte (bit 0: done) ‖ uvarint length + node address ‖
// uvarint SCAN cursor ‖ uvarint count + that many (uvarint length + key)
// pending keys.
type scanPos struct {
	// done reports that every node has been scanned: only pending remain.
	done bool
	// node is the address of the cluster master being scanned; empty for a
	// single server.
	node string
	// scan is the node's SCAN cursor to continue from; 0 starts the node.
	scan uint64
	// pending are matching keys of the last SCAN reply that did not fit in
	// the previous page (SCAN COUNT is a hint, a reply may hold more keys
	// than the page had room for). They are returned first, then the scan
	// continues from scan.
	pending [][]byte
}

const (
	posVersion = 1
	flagDone   = 1 << 0
)

// maxPending bounds the pending keys a cursor may carry when decoding, a
// sanity limit well above what the page logic produces.
const maxPending = cache.MaxListLimit * 4

// encode appends the encoding of p for pattern to dst.
func (p scanPos) encode(dst []byte, pattern string) []byte {
	dst = append(dst, posVersion)
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE([]byte(pattern)))
	var flags byte
	if p.done {
		flags |= flagDone
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(p.node)))
	dst = append(dst, p.node...)
	dst = binary.AppendUvarint(dst, p.scan)
	dst = binary.AppendUvarint(dst, uint64(len(p.pending)))
	for _, k := range p.pending {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
	}
	return dst
}

var errShortPos = errors.New("truncated position")

// decodePos decodes a position encoded for pattern. An empty b is the start
// of a listing. Errors wrap cache.ErrBadCursor.
func decodePos(b []byte, pattern string) (scanPos, error) {
	var p scanPos
	if len(b) == 0 {
		return p, nil
	}
	if b[0] != posVersion || len(b) < 6 {
		return p, fmt.Errorf("%w: unknown version or truncated", cache.ErrBadCursor)
	}
	if binary.BigEndian.Uint32(b[1:5]) != crc32.ChecksumIEEE([]byte(pattern)) {
		return p, fmt.Errorf("%w: cursor was made for another pattern", cache.ErrBadCursor)
	}
	if b[5]&^flagDone != 0 {
		return p, fmt.Errorf("%w: unknown flags", cache.ErrBadCursor)
	}
	p.done = b[5]&flagDone != 0
	d := decoder{b: b[6:]}
	p.node = string(d.bytes())
	p.scan = d.uvarint()
	n := d.uvarint()
	if n > maxPending {
		d.err = errors.New("too many pending keys")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		p.pending = append(p.pending, d.bytes())
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return scanPos{}, fmt.Errorf("%w: %v", cache.ErrBadCursor, d.err)
	}
	return p, nil
}

// decoder reads uvarints and length-prefixed byte strings, remembering the
// first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortPos
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShortPos
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
