package sink

import (
	"bytes"
	"context"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runSink opens a sink for cfg and runs it on a goroutine; the returned
// function waits for its summary.
func runSink(t *testing.T, ctx context.Context, cfg Config) (*Sink, func() Summary) {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Summary, 1)
	go func() {
		sum, _ := s.Run(ctx, nil)
		done <- sum
	}()
	return s, func() Summary {
		select {
		case sum := <-done:
			return sum
		case <-time.After(cfg.Duration + 5*time.Second):
			t.Fatal("sink did not stop")
			return Summary{}
		}
	}
}

func testConfig(proto string) Config {
	cfg := DefaultConfig()
	cfg.Proto, cfg.Listen, cfg.Duration, cfg.Idle = proto, "127.0.0.1:0", 10*time.Second, 300*time.Millisecond
	return cfg
}

// TestSinkUDPCountsKnownStream feeds the sink a stream with known
// duplicates, holes and reorders through a real socket.
func TestSinkUDPCountsKnownStream(t *testing.T) {
	s, wait := runSink(t, context.Background(), testConfig(ProtoUDP))
	c, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const A, B = 0xA, 0xB
	stream := []crafted{
		{1, A, 1}, {2, A, 2}, {3, A, 5}, {4, A, 4}, {4, A, 4}, {5, A, 6}, {6, A, 6},
		{7, B, 1}, {8, B, 4}, {9, B, 2}, {10, B, 8}, {11, B, 3}, {1, 0, 0},
	}
	for _, f := range stream {
		if _, err := c.Write(f.build(time.Now().UnixNano())); err != nil {
			t.Fatal(err)
		}
	}
	sum := wait()
	if sum.Frames != 13 || sum.UniqueTxIDs != 11 || sum.DuplicateTxIDs != 2 || sum.Unstamped != 1 {
		t.Errorf("counts %+v", sum.Counts)
	}
	// A: 3,4 missing, 4 filled; B: 2,3 then 5,6,7 missing, 2 and 3 filled.
	if sum.Flows != 2 || sum.Gaps != 3 || sum.GapMissing != 7 || sum.Reorders != 3 || sum.SeqDuplicates != 2 || sum.Lost != 4 {
		t.Errorf("seq %+v", sum.SeqStats)
	}
	if sum.StopReason != "idle" || sum.Latency.Count != 13 || sum.Latency.P99 <= 0 || sum.KernelDrops != 0 {
		t.Errorf("reason %q latency %+v drops %d", sum.StopReason, sum.Latency, sum.KernelDrops)
	}
}

// TestSinkTCPFraming writes frames split at awkward boundaries on two
// connections, then garbage, which counts one malformed frame and ends that
// connection.
func TestSinkTCPFraming(t *testing.T) {
	s, wait := runSink(t, context.Background(), testConfig(ProtoTCP))
	var stream []byte
	for i := range 20 {
		stream = append(stream, crafted{byte(i + 1), 7, uint64(i + 1)}.build(time.Now().UnixNano())...)
	}
	for conn := range 2 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(stream); off += 37 + conn {
			if _, err := c.Write(stream[off:min(off+37+conn, len(stream))]); err != nil {
				t.Fatal(err)
			}
		}
		if conn == 1 {
			c.Write(bytes.Repeat([]byte{0xEE}, 200))
		}
		defer c.Close()
	}
	sum := wait()
	if sum.Frames != 41 || sum.UniqueTxIDs != 20 || sum.DuplicateTxIDs != 20 || sum.Malformed != 1 || sum.SeqDuplicates != 20 {
		t.Errorf("summary %+v %+v", sum.Counts, sum.SeqStats)
	}
}

func TestSinkStopReasons(t *testing.T) {
	cfg := testConfig(ProtoUDP)
	cfg.Duration = 150 * time.Millisecond
	if _, wait := runSink(t, context.Background(), cfg); wait().StopReason != "duration" {
		t.Error("want duration")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Duration = 10 * time.Second
	_, wait := runSink(t, ctx, cfg)
	cancel()
	if got := wait().StopReason; got != "signal" {
		t.Errorf("after cancel: %q", got)
	}
	cfg.Expect, cfg.Idle = 3, 0
	s, wait := runSink(t, context.Background(), cfg)
	c, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		c.Write(crafted{tx: byte(i + 1)}.build(1))
	}
	if sum := wait(); sum.StopReason != "expect" || sum.UniqueTxIDs != 3 {
		t.Errorf("expect: %q, %d unique", sum.StopReason, sum.UniqueTxIDs)
	}
}

func TestWritePlot(t *testing.T) {
	c := NewCounter(1e6, 10, 0)
	path := filepath.Join(t.TempDir(), "lat.png")
	if p := os.Getenv("SINK_TEST_PLOT"); p != "" {
		path = p // keep the picture to look at
	}
	if err := WritePlot(path, "empty", c); err == nil {
		t.Error("plotting nothing must fail")
	}
	base := int64(1e12)
	for i := range 5000 {
		at := base + int64(i)*200_000 // 1 s of frames
		lat := int64(20_000 + (i%97)*1000 + (i%1000/999)*5_000_000)
		c.Observe(crafted{byte(i), 1, uint64(i + 1)}.build(at-lat), at)
	}
	if err := WritePlot(path, "test plot", c); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("plot is only %v", b)
	}
}

func TestMainRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-proto", "carrier-pigeon"},
		{"-duration", "0s"},
		{"-shard-bits", "13"},
		{"-plot", "out.svg"},
		{"-max-txids", "0"},
		{"stray"},
	} {
		var stderr bytes.Buffer
		if code := Main(args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "sink: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}
