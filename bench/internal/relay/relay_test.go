package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/loadgen"
	"github.com/mcdedup/mcdedup/bench/internal/sink"
	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

func loFabric(t *testing.T, bits uint) fabric.Options {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := fabric.Defaults()
	o.Ifaces, o.ShardBits, o.IPv4Base = []string{"lo"}, bits, netip.MustParseAddr("239.197.0.0")
	o.Port = uint16(c.LocalAddr().(*net.UDPAddr).Port)
	return o
}

func TestRoute(t *testing.T) {
	o := loFabric(t, 4)
	table, _ := o.Table()
	frameFor := func(first byte, n int) []byte {
		b := make([]byte, n)
		if n >= 4 {
			binary.BigEndian.PutUint32(b, frame.Magic)
		}
		if n > 8 {
			b[8] = first
		}
		return b
	}
	in := []udpio.Message{
		{Buf: frameFor(0x30, 92)},                              // shard 3
		{Buf: frameFor(0xF0, 39)},                              // too short
		{Buf: append([]byte{1, 2, 3, 4}, make([]byte, 60)...)}, // bad magic
		{Buf: frameFor(0xA0, 40)},                              // shortest routable, shard 10
		{Buf: frameFor(0x50, 92), Trunc: true},                 // truncated
	}
	for i := range in {
		in[i].N = len(in[i].Buf)
	}
	out := make([]udpio.Message, len(in))
	n := route(in, out, 4, &table)
	if n != 2 || out[0].Addr != table.Addr(3) || out[1].Addr != table.Addr(10) || len(out[1].Buf) != 40 {
		t.Fatalf("route = %d: %v, %v", n, out[0].Addr, out[1].Addr)
	}
	if allocs := testing.AllocsPerRun(100, func() { route(in, out, 4, &table) }); allocs != 0 {
		t.Errorf("route allocates %v per batch", allocs)
	}
}

// TestRelayLoadgenToTap runs loadgen → relay → sink tap in-process over IPv4
// loopback multicast with two workers and two senders.
func TestRelayLoadgenToTap(t *testing.T) {
	fab := loFabric(t, 3)
	r, err := Open(Config{Listen: "127.0.0.1:0", Workers: 2, Batch: 32, Fabric: fab})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() { r.Run(ctx); close(relayDone) }()
	defer func() { stop(); <-relayDone }()

	sc := sink.DefaultConfig()
	sc.Proto, sc.Fabric, sc.Duration, sc.Expect = sink.ProtoMulticast, fab, 20*time.Second, 8000
	s, err := sink.Open(sc)
	if err != nil {
		t.Fatal(err)
	}
	sinkDone := make(chan sink.Summary, 1)
	go func() { sum, _ := s.Run(context.Background(), nil); sinkDone <- sum }()

	lc := loadgen.DefaultConfig()
	lc.To, lc.Rate, lc.Count, lc.Duration, lc.Senders = r.Addr().String(), 8000, 8000, 10*time.Second, 2
	g, err := loadgen.Open(lc)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	res, err := g.Run(context.Background(), nil)
	if err != nil || res.Sent != 8000 {
		t.Fatalf("loadgen: %d sent, %v", res.Sent, err)
	}
	sum := <-sinkDone
	if sum.UniqueTxIDs != 8000 || sum.StopReason != "expect" || sum.DuplicateTxIDs != 0 {
		t.Errorf("sink: %+v", sum)
	}
}

func TestValidateAndMain(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-workers", "0"}, "-workers"},
		{[]string{"-batch", "2000"}, "-batch"},
		{[]string{"-listen", "nowhere"}, "-listen"},
		{[]string{"-shard-bits", "0"}, "shard-bits"},
		{[]string{"-scope", "moon"}, "scope"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var stderr bytes.Buffer
		if code := Main(c.args, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, stderr.String())
		}
	}
}
