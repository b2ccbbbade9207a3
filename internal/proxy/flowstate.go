package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mcdedup/mcdedup/frame"
)

// The flow state file keeps SeqNum numbering across a restart: at shutdown
// the proxy writes every flow's and tomb's key, next SeqNum and last use; at
// start it reads them back as tombs (see flowTable), so that a flow seen again
// within -flow-idle of its last use continues its numbering instead of
// reusing HashKey‖SeqNum pairs that listeners and retry endpoints may still
// hold. The file is removed once read: after a crash the next start begins
// at SeqNum 1 as without a file, never from older counters.
//
// The file is a hint, never trusted for more: a flow it names resumes only
// within -flow-idle of the last use it records, and at most as many tombs
// as the table's flow cap are kept.
//
// Format, big-endian: the 8-byte magic, the 16-byte flow source, a uint32
// record count, then per flow its group index (uint32), subtree (32 bytes),
// next SeqNum (uint64) and last use (int64 Unix nanoseconds). Flows are
// written oldest first per shard, so that a table smaller than the file
// keeps the most recent ones.
const (
	flowStateMagic  = "MCDFLOW1"
	flowStateHeader = 8 + 16 + 4
	flowStateRecord = 4 + 32 + 8 + 8
)

// errFlowState reports a flow state file that is not one this proxy can use.
var errFlowState = errors.New("flow state file")

// writeState writes the table's flows and tombs to w (per shard, tombs
// first, then flows from the least recently used: oldest first); wall
// converts the table's clock to Unix nanoseconds. Tombs are written so that
// a flow not seen again between two quick restarts keeps its numbering. It
// returns how many records it wrote. The table must not change meanwhile
// (the proxy writes it once its readers are gone).
func (t *flowTable) writeState(w io.Writer, wall func(int64) int64) (int, error) {
	count := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.tombs.each(func(*tomb) { count++ })
		count += len(s.m)
		s.mu.Unlock()
	}
	bw := bufio.NewWriter(w)
	var hdr [flowStateHeader]byte
	copy(hdr[:8], flowStateMagic)
	copy(hdr[8:24], t.source[:])
	binary.BigEndian.PutUint32(hdr[24:], uint32(count))
	if _, err := bw.Write(hdr[:]); err != nil {
		return 0, err
	}
	var (
		rec     [flowStateRecord]byte
		written int
		werr    error
	)
	put := func(k *flowKey, next uint64, lastUse int64) {
		if werr != nil {
			return
		}
		binary.BigEndian.PutUint32(rec[0:], k.idx)
		copy(rec[4:36], k.subtree[:])
		binary.BigEndian.PutUint64(rec[36:], next)
		binary.BigEndian.PutUint64(rec[44:], uint64(wall(lastUse)))
		_, werr = bw.Write(rec[:])
		written++
	}
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.tombs.each(func(tb *tomb) { put(&tb.key, tb.next, tb.lastUse) })
		for f := s.oldest; f != nil; f = f.newr {
			put(&f.key, f.next, f.lastUse)
		}
		s.mu.Unlock()
	}
	if werr != nil {
		return written, werr
	}
	if written != count {
		return written, fmt.Errorf("%w: the table changed while being written (%d records counted, %d written)",
			errFlowState, count, written)
	}
	return written, bw.Flush()
}

// readState reads a file writeState wrote (size bytes long) and buries each
// flow as a tomb; clock converts Unix nanoseconds to the table's clock. A
// file of another flow source, or whose size does not match its count, is
// rejected whole; a bad record stops the reading there. Memory stays
// bounded by the table: tombs beyond a shard's share are forgotten oldest
// first, as at run time.
func (t *flowTable) readState(r io.Reader, size int64, clock func(int64) int64) (int, error) {
	br := bufio.NewReader(r)
	var hdr [flowStateHeader]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, fmt.Errorf("%w: header: %w", errFlowState, err)
	}
	if string(hdr[:8]) != flowStateMagic {
		return 0, fmt.Errorf("%w: not a flow state file (magic %q)", errFlowState, hdr[:8])
	}
	if [16]byte(hdr[8:24]) != t.source {
		return 0, fmt.Errorf("%w: written under another flow source", errFlowState)
	}
	n := int64(binary.BigEndian.Uint32(hdr[24:]))
	if size != flowStateHeader+n*flowStateRecord {
		return 0, fmt.Errorf("%w: %d bytes for %d flows", errFlowState, size, n)
	}
	var rec [flowStateRecord]byte
	for i := range n {
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			return int(i), fmt.Errorf("%w: record %d: %w", errFlowState, i, err)
		}
		k := flowKey{idx: binary.BigEndian.Uint32(rec[0:])}
		copy(k.subtree[:], rec[4:36])
		tb := tomb{
			key:     k,
			hashKey: frame.HashKey(t.source, k.idx, k.subtree),
			next:    binary.BigEndian.Uint64(rec[36:]),
			lastUse: clock(int64(binary.BigEndian.Uint64(rec[44:]))),
		}
		if tb.next == 0 {
			return int(i), fmt.Errorf("%w: record %d: SeqNum 0", errFlowState, i)
		}
		s := t.shard(&k)
		s.mu.Lock()
		s.tombs.bury(tb, t.perShard)
		s.mu.Unlock()
	}
	return int(n), nil
}

// saveFlowState writes the table to path atomically (a temporary file in
// the same directory, synced, then renamed).
func saveFlowState(t *flowTable, path string, wall func(int64) int64) (int, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name()) // no-op once renamed
	n, err := t.writeState(f, wall)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return n, err
}

// loadFlowState reads path into the table as tombs and removes it. A
// missing file is not an error (0 flows).
func loadFlowState(t *flowTable, path string, clock func(int64) int64) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	n, err := t.readState(f, st.Size(), clock)
	if rerr := os.Remove(path); err == nil && rerr != nil {
		err = fmt.Errorf("read %d flows, but could not remove the file: %w", n, rerr)
	}
	return n, err
}
