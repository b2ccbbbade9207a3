package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// fuzzSeeds are valid and nearly valid inputs of every kind.
func fuzzSeeds() [][]byte {
	sub := [32]byte{3: 3}
	announce := make([]byte, 64)
	binary.BigEndian.PutUint32(announce, frame.Magic)
	announce[6] = frame.TypeSubtreeAnnounce
	frags, _ := frame.Fragment(&frame.Frame{Ver: frame.VerTx, ID: txid(7, 3, 4), Payload: payload(3000, 7)}, 1348)
	return [][]byte{
		txFrame(txid(1, 2, 4), sub, payload(40, 1)),
		txFrame(txid(2, 2, 4), sub, payload(2000, 1)),
		stampedCopy(txFrame(txid(3, 2, 4), sub, payload(40, 1)), 1, 2),
		frame.Append(nil, &frame.Frame{Ver: frame.VerLegacy, ID: txid(4, 1, 4), Payload: payload(30, 2)}),
		frame.Append(nil, &frame.Frame{Ver: frame.VerAnchor, ID: txid(5, 1, 4), Payload: payload(30, 2)}),
		frame.Append(nil, &frame.Frame{Ver: frame.VerBlock, Byte7: 1, ID: txid(6, 1, 4), Payload: payload(2000, 2)}),
		frame.Append(nil, &frame.Frame{Ver: frame.VerSubtree, Byte7: 2, ID: txid(6, 1, 4), Payload: payload(30, 2)}),
		stampedCopy(frags[1], 5, 6),
		announce,
	}
}

// splitDatagrams cuts fuzz input into datagrams: each is a big-endian
// uint16 length followed by that many bytes (the last one gets the rest).
func splitDatagrams(data []byte, max int) [][]byte {
	var out [][]byte
	for len(data) > 0 && len(out) < max {
		if len(data) < 2 {
			out = append(out, data)
			break
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		n = min(n, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func joinDatagrams(ds ...[]byte) []byte {
	var b []byte
	for _, d := range ds {
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	return b
}

// FuzzProxyDatagram drives batches of arbitrary datagrams through a worker's
// process path end to end (classification, claims, stamping,
// fragmentation, routing) with fake sockets: it must never panic, must
// count every input exactly once as forwarded, deduplicated or dropped, and
// must only send well-formed frames to addressable groups.
func FuzzProxyDatagram(f *testing.F) {
	seeds := fuzzSeeds()
	f.Add(false, joinDatagrams(seeds...))
	f.Add(true, joinDatagrams(seeds...))
	for _, s := range seeds {
		f.Add(true, joinDatagrams(s, s[:len(s)/2], s))
	}
	o := testOptions()
	plain := newFakeProxy(f, o, Deps{})
	o.AcceptControl = true
	priv := newFakeProxy(f, o, Deps{})
	f.Fuzz(func(t *testing.T, control bool, data []byte) {
		fp := plain
		if control {
			fp = priv
		}
		ds := splitDatagrams(data, 64)
		if len(ds) == 0 {
			return
		}
		msgs := make([]udpio.Message, len(ds))
		for i, d := range ds {
			msgs[i] = udpio.Message{Buf: append([]byte(nil), d...), N: len(d), Trunc: len(d) == 1}
		}
		w := fp.workers[0]
		w.process(msgs)
		tl := w.t
		if tl.received != uint64(len(ds)) || tl.forwarded+tl.deduplicated+tl.dropped != tl.received {
			t.Fatalf("counts: received %d forwarded %d dedup %d dropped %d", tl.received, tl.forwarded, tl.deduplicated, tl.dropped)
		}
		for _, s := range fp.egress.take() {
			checkOutput(t, fp, s)
		}
	})
}

// checkOutput fails unless s is a well-formed frame (or announce) sent to
// an addressable group.
func checkOutput(t *testing.T, fp *fakeProxy, s sentDatagram) {
	t.Helper()
	if len(s.Data) > maxDatagram {
		t.Fatalf("datagram of %d bytes", len(s.Data))
	}
	if k, ok := frame.Peek(s.Data); ok && k == frame.TypeSubtreeAnnounce {
		if len(s.Data) != announceLen || s.Addr != fp.core.table.Addr(frame.IdxSubtreeAnnounce) {
			t.Fatalf("announce of %d bytes to %v", len(s.Data), s.Addr)
		}
		return
	}
	g, err := frame.Parse(s.Data)
	if err != nil {
		t.Fatalf("sent a frame that does not parse: %v", err)
	}
	if g.Ver != frame.VerLegacy && g.SeqNum == 0 {
		t.Fatalf("sent an unstamped V%d frame", g.Ver)
	}
	if _, egress, ok := frame.GroupIndexFor(&g, 4, 0); !ok || s.Addr != fp.core.table.Addr(egress) {
		t.Fatalf("V%d frame sent to %v, its group is %#x", g.Ver, s.Addr, egress)
	}
}

// chunkReader returns its data in reads of the sizes cycling through
// sizes (each 1–256 bytes), to exercise every split of the stream.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(r.sizes) > 0 {
		n = min(n, int(r.sizes[r.i%len(r.sizes)])+1)
		r.i++
	}
	n = copy(p, r.data[:min(n, len(r.data))])
	r.data = r.data[n:]
	return n, nil
}

// FuzzTCPFraming feeds arbitrary byte streams, split into arbitrary reads,
// through the TCP stream reader and a worker: no panic, the frames returned
// are exactly consecutive pieces of the stream, none is longer than the
// limits allow, and a stream ends in EOF, a cut frame or a malformed
// header, each counted.
func FuzzTCPFraming(f *testing.F) {
	var all []byte
	for _, s := range fuzzSeeds() {
		all = append(all, s...)
	}
	f.Add(all, []byte{255})
	f.Add(all, []byte{0, 3, 43, 90})
	f.Add(append(all[:200:200], 1, 2, 3), []byte{7})
	big := txFrame(txid(9, 1, 4), [32]byte{}, payload(100_000, 1))
	f.Add(big, []byte{255, 13})
	o := testOptions()
	o.MaxPayload = 200_000
	fp := newFakeProxy(f, o, Deps{})
	f.Fuzz(func(t *testing.T, stream, sizes []byte) {
		sr := newStreamReader(&chunkReader{data: stream, sizes: sizes}, fp.core.cls.limits, nil, 0, 0)
		off := 0
		for {
			b, err := sr.next(true)
			if err != nil {
				var se *streamError
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &se) {
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, io.EOF) && off != len(stream) {
					t.Fatalf("EOF at %d of %d", off, len(stream))
				}
				break
			}
			if !bytes.Equal(b, stream[off:off+len(b)]) {
				t.Fatalf("frame at %d is not the stream's bytes", off)
			}
			if len(b) > frame.HeaderLenFrag+o.MaxPayload {
				t.Fatalf("frame of %d bytes above the limit", len(b))
			}
			off += len(b)
		}
		w := fp.workers[0]
		sr = newStreamReader(&chunkReader{data: stream, sizes: sizes}, fp.core.cls.limits, nil, 0, 0)
		before := fp.counts()
		_ = serveStream(sr, w)
		after := fp.counts()
		if got := after.forwarded + after.dedup + after.dropped - before.forwarded - before.dedup - before.dropped; got != after.received-before.received {
			t.Fatalf("received %v, accounted %v", after.received-before.received, got)
		}
		for _, s := range fp.egress.take() {
			checkOutput(t, fp, s)
		}
	})
}
