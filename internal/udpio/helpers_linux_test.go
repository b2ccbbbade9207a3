package udpio

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// mode is one way of running a Conn: over the runtime poller or blocking
// (Options.Blocking), with recvmmsg/sendmmsg or the one-datagram fallback.
type mode struct {
	name     string
	single   bool
	blocking bool
}

// modes are the four I/O paths every round-trip test runs over.
var modes = []mode{
	{"poll/mmsg", false, false}, {"poll/single", true, false},
	{"blocking/mmsg", false, true}, {"blocking/single", true, true},
}

// ioModes are the two descriptor modes, for tests that do not care about
// the one-datagram fallback.
var ioModes = []mode{{"poll", false, false}, {"blocking", false, true}}

// inIOModes runs test once per descriptor mode, as subtests.
func inIOModes(t *testing.T, test func(t *testing.T, m mode)) {
	for _, m := range ioModes {
		t.Run(m.name, func(t *testing.T) { test(t, m) })
	}
}

func listen(t testing.TB, network, addr string, opts Options) *Conn {
	t.Helper()
	c, err := Listen(network, addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listenMode is listen in mode m: blocking or not, and with the
// one-datagram fallback forced when m.single is set.
func listenMode(t testing.TB, m mode, network, addr string, opts Options) *Conn {
	t.Helper()
	opts.Blocking = m.blocking
	c := listen(t, network, addr, opts)
	forceSingle(c, m.single)
	return c
}

// forceSingle switches c to one-datagram recvmsg/sendmsg, as when the probe
// finds no recvmmsg/sendmmsg.
func forceSingle(c *Conn, single bool) {
	c.r.single, c.w.single = single, single
}

// readAllocs returns the allocations per ReadBatch call on rx over runs
// calls; datagrams must be queued for every call.
func readAllocs(t testing.TB, rx *Conn, in []Message, runs int) float64 {
	t.Helper()
	var failed error
	allocs := testing.AllocsPerRun(runs, func() {
		if _, err := rx.ReadBatch(in); err != nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	return allocs
}

// randomFrames returns n distinct frames of random sizes in [minLen, maxLen]
// (minLen ≥ 4), each starting with its index.
func randomFrames(seed uint64, n, minLen, maxLen int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 0x6d636464))
	frames := make([][]byte, n)
	for i := range frames {
		f := make([]byte, minLen+rng.IntN(maxLen-minLen+1))
		for j := range f {
			f[j] = byte(rng.Uint32())
		}
		binary.BigEndian.PutUint32(f, uint32(i))
		frames[i] = f
	}
	return frames
}

// toMessages addresses every frame to dst.
func toMessages(frames [][]byte, dst netip.AddrPort) []Message {
	msgs := make([]Message, len(frames))
	for i, f := range frames {
		msgs[i] = Message{Buf: f, Addr: dst}
	}
	return msgs
}

// sendFrames writes all frames to dst and fails the test unless all went.
func sendFrames(t testing.TB, c *Conn, frames [][]byte, dst netip.AddrPort) {
	t.Helper()
	if n, err := c.WriteBatch(toMessages(frames, dst)); err != nil || n != len(frames) {
		t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(frames))
	}
}

// readDatagrams reads until want datagrams have arrived, failing on an error
// or after waitTimeout. It uses batches of 16 so several calls are needed.
func readDatagrams(t testing.TB, c *Conn, want int) []Datagram {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	defer c.SetReadDeadline(time.Time{})
	msgs := NewMessages(16, 2048)
	var got []Datagram
	for len(got) < want { // bounded by the deadline
		n, err := c.ReadBatch(msgs)
		if err != nil {
			t.Fatalf("ReadBatch after %d of %d datagrams: %v", len(got), want, err)
		}
		for _, m := range msgs[:n] {
			if m.Trunc {
				t.Errorf("datagram from %v truncated", m.Addr)
			}
			got = append(got, Datagram{Addr: m.Addr, Data: bytes.Clone(m.Payload())})
		}
	}
	return got
}

// checkFrames compares received datagrams with the frames sent, in order,
// and their source with src.
func checkFrames(t testing.TB, got []Datagram, frames [][]byte, src netip.AddrPort) {
	t.Helper()
	if len(got) != len(frames) {
		t.Fatalf("received %d datagrams, want %d", len(got), len(frames))
	}
	for i, d := range got {
		if !bytes.Equal(d.Data, frames[i]) {
			t.Errorf("datagram %d: %d bytes differ from the %d-byte frame sent", i, len(d.Data), len(frames[i]))
		}
		if d.Addr != src {
			t.Errorf("datagram %d: source %v, want %v", i, d.Addr, src)
		}
	}
}
