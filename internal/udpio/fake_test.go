package udpio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 5 * time.Second

var (
	fakeLocal = netip.MustParseAddrPort("192.0.2.1:4000")
	fakePeer  = netip.MustParseAddrPort("[2001:db8::7]:5000")
)

func TestFakeReadBatch(t *testing.T) {
	f := NewFake(fakeLocal)
	if f.LocalAddr() != fakeLocal {
		t.Errorf("LocalAddr = %v", f.LocalAddr())
	}
	data := []byte("0123456789")
	for i := range 3 {
		if err := f.Push(fakePeer, data[:4+i*3]); err != nil {
			t.Fatal(err)
		}
	}
	data[0] = 'X' // Push copied
	msgs := NewMessages(2, 8)
	n, err := f.ReadBatch(msgs)
	if n != 2 || err != nil {
		t.Fatalf("ReadBatch = %d, %v; want 2", n, err)
	}
	if string(msgs[0].Payload()) != "0123" || msgs[0].Addr != fakePeer || msgs[0].Trunc {
		t.Errorf("first = %q from %v trunc %v", msgs[0].Payload(), msgs[0].Addr, msgs[0].Trunc)
	}
	if n, _ := f.ReadBatch(msgs); n != 1 || !msgs[0].Trunc || string(msgs[0].Payload()) != "01234567" {
		t.Errorf("third = %d %q trunc %v; want the 10-byte datagram cut to 8", n, msgs[0].Payload(), msgs[0].Trunc)
	}
	if f.Pending() != 0 {
		t.Errorf("Pending = %d", f.Pending())
	}
}

func TestFakeReadBlocksUntilPushOrClose(t *testing.T) {
	f := NewFake(fakeLocal)
	type res struct {
		n   int
		err error
	}
	read := func() chan res {
		c := make(chan res, 1)
		go func() {
			n, err := f.ReadBatch(NewMessages(4, 16))
			c <- res{n, err}
		}()
		return c
	}
	c := read()
	select {
	case r := <-c:
		t.Fatalf("ReadBatch returned %v on an empty queue", r)
	case <-time.After(20 * time.Millisecond):
	}
	f.Push(fakePeer, []byte("x"))
	select {
	case r := <-c:
		if r.n != 1 || r.err != nil {
			t.Errorf("after Push: %v", r)
		}
	case <-time.After(waitTimeout):
		t.Fatal("ReadBatch still blocked after Push")
	}
	c = read()
	f.Close()
	select {
	case r := <-c:
		if !errors.Is(r.err, net.ErrClosed) {
			t.Errorf("after Close: %v, want net.ErrClosed", r.err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("ReadBatch still blocked after Close")
	}
	if err := f.Push(fakePeer, nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Push after Close: %v", err)
	}
	if err := f.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestFakeWriteFaults(t *testing.T) {
	f := NewFake(fakeLocal)
	f.SetWriteLimit(3)
	errUnreachable := errors.New("unreachable")
	bad := netip.MustParseAddrPort("198.51.100.9:1")
	f.SetWriteError(func(m *Message) error {
		if m.Addr == bad {
			return errUnreachable
		}
		return nil
	})
	var msgs []Message
	for i := range 10 {
		dst := fakePeer
		if i == 4 || i == 5 {
			dst = bad
		}
		msgs = append(msgs, Message{Buf: []byte(fmt.Sprint(i)), Addr: dst})
	}
	n, err := f.WriteBatch(msgs)
	var we *WriteError
	if n != 8 || !errors.As(err, &we) || we.Failed != 2 || we.Index != 4 || !errors.Is(err, errUnreachable) {
		t.Fatalf("WriteBatch = %d, %v; want 8 sent, 2 failed from index 4", n, err)
	}
	got := f.Written()
	if len(got) != 8 {
		t.Fatalf("Written has %d datagrams, want 8", len(got))
	}
	for i, want := range []string{"0", "1", "2", "3", "6", "7", "8", "9"} {
		if string(got[i].Data) != want || got[i].Addr != fakePeer {
			t.Errorf("written %d = %q to %v, want %q to %v", i, got[i].Data, got[i].Addr, want, fakePeer)
		}
	}
	// 0-2 | 3 | reject 4 | reject 5 | 6-8 | 9
	if calls := f.SendCalls(); calls != 6 {
		t.Errorf("SendCalls = %d, want 6", calls)
	}
	msgs[0].Buf[0] = 'Z'
	if string(f.Written()[0].Data) != "0" {
		t.Error("Written shares the caller's buffer")
	}
	f.Close()
	if n, err := f.WriteBatch(msgs[:2]); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBatch after Close = %d, %v", n, err)
	}
}

func TestFakeWaitWrittenAndConcurrency(t *testing.T) {
	f := NewFake(fakeLocal)
	f.SetKernelDrops(7)
	if f.KernelDrops() != 7 {
		t.Errorf("KernelDrops = %d", f.KernelDrops())
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				f.Push(fakePeer, []byte{byte(w), byte(i)})
				f.WriteBatch([]Message{{Buf: []byte{byte(w), byte(i)}, Addr: fakePeer}})
			}
		}()
	}
	guard := time.AfterFunc(waitTimeout, func() { f.Close() }) // unblocks a stuck read
	defer guard.Stop()
	read := 0
	msgs := NewMessages(8, 4)
	for read < writers*each {
		n, err := f.ReadBatch(msgs)
		if err != nil {
			t.Fatal(err)
		}
		read += n
	}
	got, err := f.WaitWritten(ctx, writers*each)
	if err != nil || len(got) != writers*each {
		t.Fatalf("WaitWritten = %d, %v", len(got), err)
	}
	wg.Wait()
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	if got, err := f.WaitWritten(short, writers*each+1); !errors.Is(err, context.DeadlineExceeded) || len(got) != writers*each {
		t.Errorf("WaitWritten past the end = %d, %v; want the deadline", len(got), err)
	}
}
