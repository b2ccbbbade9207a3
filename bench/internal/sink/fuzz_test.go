package sink

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/mcdedup/mcdedup/bench/internal/wire"
	"github.com/mcdedup/mcdedup/frame"
)

// FuzzObserve feeds arbitrary datagrams to the counter: it must never panic
// and must count every datagram exactly once.
func FuzzObserve(f *testing.F) {
	f.Add(crafted{1, 7, 3}.build(5))
	f.Add(crafted{2, 0, 0}.build(0)[:frame.HeaderLenStd])
	f.Add([]byte{0xE3, 0xE1, 0xF3, 0xE8, 0x02, 0xBF, 0x02})
	c := NewCounter(1000, 100, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		before := c.Frames()
		c.Observe(b, 1e9)
		if c.Frames() != before+1 {
			t.Fatalf("frames %d after %d", c.Frames(), before)
		}
	})
}

// FuzzNextFrame feeds arbitrary byte streams to the TCP framing reader: it
// must never panic, and every frame it delimits must hold at least its
// version's header and fit the stream. (A delimited frame may still fail
// Parse, e.g. a V4 frame with a bad MsgType; the counter then counts it
// malformed, and the stream stays in step because the length was valid.)
func FuzzNextFrame(f *testing.F) {
	two := append(crafted{1, 7, 1}.build(5), crafted{2, 7, 2}.build(6)...)
	f.Add(two)
	f.Add(two[:100])
	f.Add(bytes.Repeat([]byte{0xE3}, 200))
	lim := frame.Limits{MaxPayload: wire.MaxPayload}
	f.Fuzz(func(t *testing.T, stream []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(stream), tcpBuffer)
		consumed := 0
		for range len(stream) + 1 { // each iteration consumes at least one byte or stops
			n, err := nextFrame(br, lim)
			if err != nil {
				return
			}
			b, _ := br.Peek(n)
			if hl := frame.HeaderLen(b[6]); hl == 0 || n < hl {
				t.Fatalf("delimited %d bytes, shorter than the %d-byte header", n, hl)
			}
			if consumed += n; consumed > len(stream) || n == 0 {
				t.Fatalf("consumed %d of %d", consumed, len(stream))
			}
			br.Discard(n)
		}
	})
}
