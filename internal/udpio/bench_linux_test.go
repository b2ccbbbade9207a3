package udpio

import (
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// Loopback benchmark shape: one batch of benchBatch datagrams of
// benchPayload bytes written and read back per iteration.
const (
	benchBatch   = DefaultBatch
	benchPayload = 256
)

// reportPackets adds per-datagram figures to a loopback benchmark.
func reportPackets(b *testing.B) {
	pkts := float64(b.N * benchBatch)
	b.ReportMetric(pkts/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pkts, "ns/pkt")
}

// BenchmarkLoopback compares this package's ReadBatch/WriteBatch (batched
// and in the one-datagram fallback) with golang.org/x/net/ipv4.PacketConn's,
// which allocates a *net.UDPAddr per datagram read.
func BenchmarkLoopback(b *testing.B) {
	for _, m := range modes {
		b.Run("udpio-"+strings.ReplaceAll(m.name, "/", "-"), func(b *testing.B) { benchUDPIO(b, m) })
	}
	b.Run("xnet-ipv4", benchXNet)
}

func benchUDPIO(b *testing.B, m mode) {
	rx := listenMode(b, m, "udp4", "127.0.0.1:0", Options{RecvBuffer: 8 << 20})
	tx := listenMode(b, m, "udp4", "127.0.0.1:0", Options{SendBuffer: 8 << 20})
	out := toMessages(randomFrames(13, benchBatch, benchPayload, benchPayload), rx.LocalAddr())
	in := NewMessages(benchBatch, 2048)
	rx.SetReadDeadline(time.Now().Add(time.Minute)) // a lost datagram fails, not hangs
	b.ReportAllocs()
	for b.Loop() {
		if n, err := tx.WriteBatch(out); err != nil || n != benchBatch {
			b.Fatalf("WriteBatch = %d, %v", n, err)
		}
		for got := 0; got < benchBatch; {
			n, err := rx.ReadBatch(in)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	reportPackets(b)
}

func benchXNet(b *testing.B) {
	listenXNet := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		c.SetReadBuffer(8 << 20)
		c.SetWriteBuffer(8 << 20)
		return c
	}
	rxc, txc := listenXNet(), listenXNet()
	rx, tx := ipv4.NewPacketConn(rxc), ipv4.NewPacketConn(txc)
	out := make([]ipv4.Message, benchBatch)
	for i, f := range randomFrames(13, benchBatch, benchPayload, benchPayload) {
		out[i] = ipv4.Message{Buffers: [][]byte{f}, Addr: rxc.LocalAddr()}
	}
	in := make([]ipv4.Message, benchBatch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	rxc.SetReadDeadline(time.Now().Add(time.Minute))
	b.ReportAllocs()
	for b.Loop() {
		for sent := 0; sent < benchBatch; { // WriteBatch may be partial too
			n, err := tx.WriteBatch(out[sent:], 0)
			if err != nil {
				b.Fatal(err)
			}
			sent += n
		}
		for got := 0; got < benchBatch; {
			n, err := rx.ReadBatch(in, 0)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	reportPackets(b)
}
