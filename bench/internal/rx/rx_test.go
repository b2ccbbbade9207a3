package rx

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/udpio"
)

// flaky fails its first reads, then reads from a Fake.
type flaky struct {
	fails int
	*udpio.Fake
}

func (f *flaky) ReadBatch(msgs []udpio.Message) (int, error) {
	if f.fails > 0 {
		f.fails--
		return 0, errors.New("transient")
	}
	return f.Fake.ReadBatch(msgs)
}

func TestLoopSkipsErrorsAndEndsOnClose(t *testing.T) {
	fake := udpio.NewFake(netip.MustParseAddrPort("127.0.0.1:1"))
	c := &flaky{fails: 15, Fake: fake}
	for i := range 5 {
		fake.Push(netip.MustParseAddrPort("127.0.0.1:2"), []byte{byte(i)})
	}
	got := 0
	done := make(chan struct{})
	go func() {
		Loop(c, udpio.NewMessages(2, 16), func(batch []udpio.Message) { got += len(batch) })
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for fake.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	fake.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Loop did not return after Close")
	}
	if got != 5 {
		t.Errorf("handed %d datagrams to fn, want 5", got)
	}
}
