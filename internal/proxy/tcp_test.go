package proxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcdedup/mcdedup/frame"
)

// tcpProxy starts a real proxy with TCP ingress and short timeouts.
func tcpProxy(t *testing.T, mutate func(*Options)) (*liveProxy, *tap) {
	fab := e2eFabric(t)
	tp := openTap(t, fab, frame.IdxSubtreeAnnounce)
	o := e2eOptions(t, fab)
	o.TCPListen = "127.0.0.1:0"
	o.TCPReadTimeout = 300 * time.Millisecond
	o.TCPIdleTimeout = 300 * time.Millisecond
	if mutate != nil {
		mutate(&o)
	}
	return startProxy(t, o, Deps{}), tp
}

func dialTCP(t *testing.T, lp *liveProxy) net.Conn {
	c, err := net.Dial("tcp", lp.TCPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed fails unless the proxy closes c within timeout.
func waitClosed(t *testing.T, c net.Conn, timeout time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after %v", timeout)
	}
}

// waitCounter waits until fn returns at least want.
func waitCounter(t *testing.T, what string, fn func() float64, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for fn() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", what, fn(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTCPFramesAndBigFrameFragments(t *testing.T) {
	lp, tp := tcpProxy(t, nil)
	c := dialTCP(t, lp)
	announce := make([]byte, 64)
	binary.BigEndian.PutUint32(announce, frame.Magic)
	announce[6] = frame.TypeSubtreeAnnounce
	announce[30] = 7
	id := txid(1_000_000, 3, e2eBits)
	big := payload(1<<20, 9)
	legacy := frame.Append(nil, &frame.Frame{Ver: frame.VerLegacy, ID: txid(7, 2, e2eBits), Payload: payload(99, 1)})
	var stream []byte
	stream = append(stream, e2eFrame(1)...)
	stream = append(stream, legacy...)
	stream = append(stream, announce...)
	stream = append(stream, txFrame(id, [32]byte{}, big)...)
	stream = append(stream, e2eFrame(2)...)
	if _, err := c.Write(stream); err != nil {
		t.Fatal(err)
	}
	nfrag := frame.FragmentCount(len(big), frame.FragDataSize(1500))
	got := tp.wait(t, 4+nfrag, 20*time.Second)
	var frags []frame.Frame
	var announced, legacyOK int
	for _, r := range got {
		if k, _ := frame.Peek(r.data); k == frame.TypeSubtreeAnnounce {
			if bytes.Equal(r.data, announce) && r.group == frame.IdxSubtreeAnnounce {
				announced++
			}
			continue
		}
		f, err := frame.Parse(r.data)
		if err != nil {
			t.Fatal(err)
		}
		switch f.Ver {
		case frame.VerFrag:
			if r.group != 3 {
				t.Fatalf("fragment on group %d", r.group)
			}
			frags = append(frags, f)
		case frame.VerLegacy:
			if bytes.Equal(r.data, legacy) && r.group == 2 {
				legacyOK++
			}
		}
	}
	if announced != 1 || legacyOK != 1 || len(frags) != nfrag {
		t.Fatalf("announces %d, legacy %d, fragments %d of %d", announced, legacyOK, len(frags), nfrag)
	}
	p, err := frame.Reassemble(frags)
	if err != nil || !bytes.Equal(p, big) {
		t.Fatalf("1 MiB frame did not reassemble: %v", err)
	}
	hk := frags[0].HashKey
	seqs := map[uint64]bool{}
	for _, f := range frags {
		if f.HashKey != hk {
			t.Fatal("fragments of one frame on different flows")
		}
		seqs[f.SeqNum] = true
	}
	// e2eFrame(1) and (2) may share the flow; the fragments' SeqNums are
	// consecutive either way.
	var lo uint64 = 1 << 62
	for s := range seqs {
		lo = min(lo, s)
	}
	for k := range uint64(nfrag) {
		if !seqs[lo+k] {
			t.Fatalf("fragment SeqNums not consecutive from %d: %d missing", lo, lo+k)
		}
	}
}

func TestTCPMalformedStreams(t *testing.T) {
	lp, _ := tcpProxy(t, nil)
	dropped := func(reason string) func() float64 {
		return func() float64 {
			for i, l := range reasonLabels {
				if l == reason {
					return testutil.ToFloat64(lp.m.dropped[i])
				}
			}
			return -1
		}
	}
	t.Run("bad magic", func(t *testing.T) {
		c := dialTCP(t, lp)
		c.Write(append([]byte{1, 2, 3, 4}, e2eFrame(1)[4:]...))
		waitClosed(t, c, 2*time.Second)
		waitCounter(t, "dropped{bad_magic}", dropped("bad_magic"), 1)
	})
	t.Run("4 GiB declared length", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := dialTCP(t, lp)
		h := e2eFrame(2)[:frame.HeaderLenStd]
		binary.BigEndian.PutUint32(h[88:], 0xFFFFFFFF)
		c.Write(h)
		waitClosed(t, c, 2*time.Second)
		waitCounter(t, "dropped{too_large}", dropped("too_large"), 1)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
			t.Fatalf("allocated %d MiB for a header", grew>>20)
		}
	})
	t.Run("9 MiB declared, 100 bytes sent", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := dialTCP(t, lp)
		h := txFrame(txid(3, 1, 4), [32]byte{}, nil)
		binary.BigEndian.PutUint32(h[88:], 9<<20)
		c.Write(append(h, make([]byte, 100)...))
		waitClosed(t, c, 3*time.Second) // slow-loris: the read timeout closes it
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Fatalf("allocated %d KiB for 100 bytes of a 9 MiB frame", grew>>10)
		}
		waitCounter(t, "dropped{truncated}", dropped("truncated"), 1)
	})
	t.Run("unknown type", func(t *testing.T) {
		c := dialTCP(t, lp)
		b := e2eFrame(4)
		b[6] = 0x0D
		c.Write(b)
		waitClosed(t, c, 2*time.Second)
		waitCounter(t, "dropped{bad_version}", dropped("bad_version"), 1)
	})
	t.Run("idle", func(t *testing.T) {
		c := dialTCP(t, lp)
		start := time.Now()
		waitClosed(t, c, 3*time.Second)
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Fatalf("closed after %v, before the idle timeout", d)
		}
	})
	if r := lp.counter(lp.m.received); r != lp.counter(lp.m.forwarded)+lp.counter(lp.m.deduplicated)+sumDropped(lp) {
		t.Errorf("received %v not accounted for", r)
	}
}

func sumDropped(lp *liveProxy) float64 {
	var d float64
	for _, c := range lp.m.dropped {
		if c != nil {
			d += testutil.ToFloat64(c)
		}
	}
	return d
}

func TestTCPConnectionLimit(t *testing.T) {
	lp, tp := tcpProxy(t, func(o *Options) { o.TCPMaxConns = 2; o.TCPIdleTimeout = 10 * time.Second })
	c1, c2 := dialTCP(t, lp), dialTCP(t, lp)
	waitCounter(t, "tcp_connections", func() float64 { return testutil.ToFloat64(lp.m.tcpConns) }, 2)
	c3 := dialTCP(t, lp)
	waitClosed(t, c3, 2*time.Second)
	if r := testutil.ToFloat64(lp.m.tcpRejected); r != 1 {
		t.Fatalf("tcp_rejected_total %v", r)
	}
	c1.Write(e2eFrame(5))
	c2.Write(e2eFrame(6))
	tp.wait(t, 2, 5*time.Second)
	c1.Close()
	waitCounter(t, "tcp_connections≤1", func() float64 { return 2 - testutil.ToFloat64(lp.m.tcpConns) }, 1)
	c4 := dialTCP(t, lp)
	c4.Write(e2eFrame(7))
	tp.wait(t, 3, 5*time.Second)
}
