package aerospike

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/mcdedup/mcdedup/cache"
)

// Listing: the set is scanned one partition at a time, in partition order,
// each partition in digest order from just after the last record the
// previous page consumed. The cursor therefore holds only a partition number
// and a digest (see scanPos), whatever the cluster size.
const (
	// partitions is the number of Aerospike partitions.
	partitions = 4096
	// maxScanRecords bounds the records one partition scan may return.
	maxScanRecords = 1000
	// pageTime bounds the scanning time of one page: a sparse pattern, or
	// an empty set (4096 partition scans), yields short pages with a cursor
	// rather than stall a caller.
	pageTime = time.Second
)

// scanRecord is one record of a partition scan.
type scanRecord struct {
	digest []byte
	key    []byte // nil when the record was written without its user key
	val    []byte // set when the scan includes values
}

// scanFunc scans partition part, from just after digest after (nil: from
// the start), returning at most max records in digest order to yield until
// it returns false. It reports whether the partition was read to its end.
type scanFunc func(ctx context.Context, part int, after []byte, max int64, withValues bool,
	yield func(scanRecord) bool) (done bool, err error)

// List implements cache.Lister with a client-side match over a scan of the
// set, one partition after the other. A page holds at most Limit entries
// but may hold fewer, even none, while its cursor is non-empty: a page stops
// scanning after one second, or when the caller's deadline is near. A full
// listing costs at least one scan per partition (4096), so listing a large
// set is a cold-path operation.
//
// A partition is scanned in digest order and resumed after the last digest
// consumed, so a listing returns every record present throughout once (a
// partition migrating during the listing may repeat or skip records);
// records written or deleted meanwhile may or may not appear. Records written without their user key (by other programs)
// are skipped. Each partition scan is bounded by the operation timeout. A
// failing scan fails the page when it has no entries yet; otherwise the page
// ends there and the next one retries the partition.
func (b *Backend) List(ctx context.Context, opts cache.ListOptions) (cache.ListPage, error) {
	opts, err := cache.NormalizeList(opts)
	if err != nil {
		return cache.ListPage{}, err
	}
	m, err := cache.NewMatcher(opts.Pattern)
	if err != nil {
		return cache.ListPage{}, err
	}
	cur, err := cache.ParseListCursor(opts.Cursor)
	if err != nil {
		return cache.ListPage{}, err
	}
	pos, err := decodePos(cur.Pos, opts.Pattern)
	if err != nil {
		return cache.ListPage{}, err
	}
	if _, err := b.begin(ctx); err != nil {
		return cache.ListPage{}, b.wrap("list", err)
	}
	pg, err := listPage(ctx, b.scanPartition, m, opts, cur, pos, b.opTimeout)
	return pg, b.wrap("list", err)
}

// listPage builds one page from scans by scan, starting at pos.
func listPage(ctx context.Context, scan scanFunc, m cache.Matcher, opts cache.ListOptions,
	cur cache.ListCursor, pos scanPos, opTimeout time.Duration) (cache.ListPage, error) {
	room := min(opts.Limit, opts.Max-cur.Returned)
	if room <= 0 {
		return cache.ListPage{Truncated: true}, nil
	}
	var (
		out              cache.ListPage
		start            = time.Now()
		scans            int
		scanned, matched int
	)
	for pos.part < partitions && room > 0 {
		if scans > 0 && (time.Since(start) > pageTime || nearDeadline(ctx, opTimeout)) {
			break
		}
		// Ask for about enough records to fill the page, given the share
		// of records that matched so far.
		max := int64(room) * int64(scanned+1) / int64(matched+1)
		max = min(max, maxScanRecords)
		var last []byte
		done, err := scan(ctx, pos.part, pos.after, max, opts.WithValues, func(r scanRecord) bool {
			scanned++
			last = r.digest
			if r.key != nil && m.Match(r.key) {
				matched++
				out.Entries = append(out.Entries, cache.Entry{Key: r.key, Val: r.val})
				room--
			}
			return room > 0
		})
		scans++
		if last != nil {
			pos.after = bytes.Clone(last)
		}
		if err != nil {
			if len(out.Entries) == 0 {
				return cache.ListPage{}, fmt.Errorf("scanning partition %d: %w", pos.part, err)
			}
			break // the next page retries the partition from pos
		}
		if done {
			pos.part, pos.after = pos.part+1, nil
		}
	}
	if pos.part < partitions {
		returned := cur.Returned + len(out.Entries)
		if returned >= opts.Max {
			out.Truncated = true
		} else {
			c := cache.ListCursor{Returned: returned, Pos: pos.encode(nil, opts.Pattern)}
			out.Cursor = c.String()
		}
	}
	return out, nil
}

// nearDeadline reports whether ctx ends within two operation timeouts.
func nearDeadline(ctx context.Context, opTimeout time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < 2*opTimeout
}

// scanPartition is the scanFunc of the Backend: ScanPartitions over one
// partition, resuming after a digest, bounded by the operation timeout.
func (b *Backend) scanPartition(ctx context.Context, part int, after []byte, max int64, withValues bool,
	yield func(scanRecord) bool) (bool, error) {
	d, err := b.begin(ctx)
	if err != nil {
		return false, err
	}
	sp := as.NewScanPolicy()
	sp.BasePolicy = basePolicy(d)
	sp.MaxRecords = max
	sp.IncludeBinData = withValues
	pf := as.NewPartitionFilterByRange(part, 1)
	pf.Digest = after
	var bins []string
	if withValues {
		bins = []string{binName}
	}
	rs, aerr := b.client.ScanPartitions(sp, pf, b.ns, b.set, bins...)
	if aerr != nil {
		return false, aerr
	}
	defer rs.Close()
	for res := range rs.Results() {
		if res.Err != nil {
			return false, res.Err
		}
		r, err := toScanRecord(res.Record, withValues)
		if err != nil {
			return false, err
		}
		if !yield(r) {
			return false, nil
		}
	}
	return pf.IsDone(), nil
}

// toScanRecord converts a scanned record.
func toScanRecord(rec *as.Record, withValues bool) (scanRecord, error) {
	r := scanRecord{digest: rec.Key.Digest()}
	switch k := rec.Key.Value().(type) {
	case as.BytesValue:
		r.key = append([]byte{}, k...)
	case as.StringValue:
		r.key = []byte(string(k))
	}
	if withValues && r.key != nil {
		v, err := binValue(rec)
		if err != nil {
			return r, err
		}
		r.val = v
	}
	return r, nil
}

// scanPos is the Aerospike part of a listing cursor (the Pos of a
// cache.ListCursor).
//
// Encoding: version byte (1) ‖ CRC-32 (IEEE) of the pattern, 4 bytes big
// endian ‖ uvarint partition ‖ uvarint length + digest of the last record
// consumed in that partition (empty: from its start).
type scanPos struct {
	part  int
	after []byte
}

const posVersion = 1

// encode appends the encoding of p for pattern to dst.
func (p scanPos) encode(dst []byte, pattern string) []byte {
	dst = append(dst, posVersion)
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE([]byte(pattern)))
	dst = binary.AppendUvarint(dst, uint64(p.part))
	dst = binary.AppendUvarint(dst, uint64(len(p.after)))
	return append(dst, p.after...)
}

// decodePos decodes a position encoded for pattern; empty b is the start of
// a listing. Errors wrap cache.ErrBadCursor.
func decodePos(b []byte, pattern string) (scanPos, error) {
	if len(b) == 0 {
		return scanPos{}, nil
	}
	bad := func(why string) (scanPos, error) {
		return scanPos{}, fmt.Errorf("%w: %s", cache.ErrBadCursor, why)
	}
	if b[0] != posVersion || len(b) < 5 {
		return bad("unknown version or truncated")
	}
	if binary.BigEndian.Uint32(b[1:5]) != crc32.ChecksumIEEE([]byte(pattern)) {
		return bad("cursor was made for another pattern")
	}
	b = b[5:]
	part, n := binary.Uvarint(b)
	if n <= 0 || part >= partitions {
		return bad("bad partition")
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l != uint64(len(b)-n) || l > 64 {
		return bad("bad digest")
	}
	p := scanPos{part: int(part)}
	if l > 0 {
		p.after = bytes.Clone(b[n:])
	}
	return p, nil
}
