package proxy

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// testSource is the flow identity of in-process test proxies.
var testSource = netip.MustParseAddr("192.0.2.7")

// sentDatagram is one datagram a fakeEgress was given.
type sentDatagram struct {
	Addr netip.AddrPort
	Data []byte
}

// fakeEgress records what workers send (when record is set) and never
// allocates otherwise, for AllocsPerRun. failEvery > 0 rejects every n-th
// datagram.
type fakeEgress struct {
	mu        sync.Mutex
	record    bool
	failEvery int
	calls     int
	count     int
	sent      []sentDatagram
	closed    bool
}

func (e *fakeEgress) Send(msgs []udpio.Message) (sent, failed int, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	for i := range msgs {
		e.count++
		if e.failEvery > 0 && e.count%e.failEvery == 0 {
			failed++
			continue
		}
		sent++
		if e.record {
			e.sent = append(e.sent, sentDatagram{Addr: msgs[i].Addr, Data: append([]byte(nil), msgs[i].Buf...)})
		}
	}
	if failed > 0 {
		err = &udpio.WriteError{Failed: failed}
	}
	return sent, failed, err
}

func (e *fakeEgress) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	return nil
}

// take returns and forgets what was sent.
func (e *fakeEgress) take() []sentDatagram {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sent
	e.sent = nil
	return s
}

// testFabric returns IPv4 fabric options with shard bits 4 and the given
// port.
func testFabric(port uint16) fabric.Options {
	o := fabric.Defaults()
	o.IPv4Base = netip.MustParseAddr("239.77.0.0")
	o.ShardBits = 4
	o.Port = port
	o.Ifaces = []string{"lo"}
	return o
}

// testOptions returns Options for a fake-socket proxy: one worker, tier-1
// dedup, fragmentation at 1500.
func testOptions() Options {
	return Options{
		Listen:     "127.0.0.1:8725",
		Workers:    1,
		Fabric:     testFabric(9001),
		FlowSource: testSource,
		FragMTU:    1500,
		DedupCap:   1 << 12,
	}
}

// fakeProxy is a Proxy on fake sockets with a recording egress.
type fakeProxy struct {
	*Proxy
	egress *fakeEgress
	reg    *prometheus.Registry
}

// newFakeProxy builds a Proxy over udpio.Fake ingress and a recording
// fakeEgress shared by its workers; it is closed when the test ends.
func newFakeProxy(t testing.TB, o Options, deps Deps) *fakeProxy {
	t.Helper()
	e := &fakeEgress{record: true}
	reg := prometheus.NewRegistry()
	deps.Registerer = reg
	deps.NewEgress = func() (Egress, error) { return e, nil }
	deps.ListenUDP = func(addr string, _ udpio.Options) (udpio.BatchConn, error) {
		return udpio.NewFake(netip.MustParseAddrPort(addr)), nil
	}
	p, err := New(o, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return &fakeProxy{Proxy: p, egress: e, reg: reg}
}

// feed runs the first worker's process over datagrams.
func (fp *fakeProxy) feed(datagrams ...[]byte) {
	msgs := make([]udpio.Message, len(datagrams))
	for i, d := range datagrams {
		msgs[i] = udpio.Message{Buf: append([]byte(nil), d...), N: len(d)}
	}
	fp.workers[0].process(msgs)
}

// dropped returns dropped_total{reason}.
func (fp *fakeProxy) dropped(reason string) float64 {
	for i, l := range reasonLabels {
		if l == reason {
			return testutil.ToFloat64(fp.m.dropped[i])
		}
	}
	panic("no reason " + reason)
}

// txid returns a deterministic TxID whose shard (top bits) is shard at the
// given shard bits, distinct per n.
func txid(n uint64, shard uint32, bits uint) [32]byte {
	var id [32]byte
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, n))
	copy(id[:], h[:])
	top := binary.BigEndian.Uint32(id[:4])
	top = shard<<(32-bits) | top&(1<<(32-bits)-1)
	binary.BigEndian.PutUint32(id[:4], top)
	return id
}

// txFrame returns an unstamped V2 frame.
func txFrame(id [32]byte, subtree [32]byte, payload []byte) []byte {
	return frame.Append(nil, &frame.Frame{Ver: frame.VerTx, ID: id, SubtreeID: subtree, Payload: payload})
}

// payload returns n deterministic bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}
