package udpio

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLoopbackRoundTrip(t *testing.T) {
	tests := []struct {
		name             string
		rxNet, rxAddr    string
		txNet, txAddr    string
		dstIP            string // the receiver's address as the sender sees it
		replyFromAddress bool
	}{
		{"ipv4", "udp4", "127.0.0.1:0", "udp4", "127.0.0.1:0", "127.0.0.1", true},
		{"ipv6", "udp6", "[::1]:0", "udp6", "[::1]:0", "::1", true},
		{"dual stack receives ipv4 unmapped", "udp", ":0", "udp4", "127.0.0.1:0", "127.0.0.1", true},
	}
	for _, tc := range tests {
		for _, mode := range modes {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				rx := listenMode(t, mode, tc.rxNet, tc.rxAddr, Options{RecvBuffer: 4 << 20})
				tx := listenMode(t, mode, tc.txNet, tc.txAddr, Options{})
				dst := netip.AddrPortFrom(netip.MustParseAddr(tc.dstIP), rx.LocalAddr().Port())
				frames := randomFrames(1, 48, 4, 1400)
				sendFrames(t, tx, frames, dst)
				got := readDatagrams(t, rx, len(frames))
				checkFrames(t, got, frames, tx.LocalAddr())
				// Reply to the decoded source address: it must encode back.
				reply := [][]byte{[]byte("reply")}
				sendFrames(t, rx, reply, got[0].Addr)
				checkFrames(t, readDatagrams(t, tx, 1), reply, dst)
			})
		}
	}
}

func TestConnectedPeer(t *testing.T) {
	inIOModes(t, func(t *testing.T, m mode) {
		rx := listenMode(t, m, "udp4", "127.0.0.1:0", Options{})
		tx := listenMode(t, m, "udp4", "127.0.0.1:0", Options{Peer: rx.LocalAddr()})
		frames := randomFrames(2, 8, 4, 100)
		msgs := toMessages(frames, netip.AddrPort{}) // zero Addr: the peer
		if n, err := tx.WriteBatch(msgs); n != len(msgs) || err != nil {
			t.Fatalf("WriteBatch = %d, %v", n, err)
		}
		checkFrames(t, readDatagrams(t, rx, len(frames)), frames, tx.LocalAddr())
	})
}

func TestBatchSizeOption(t *testing.T) { inIOModes(t, testBatchSizeOption) }

func testBatchSizeOption(t *testing.T, m mode) {
	rx := listenMode(t, m, "udp4", "127.0.0.1:0", Options{BatchSize: 4})
	tx := listenMode(t, m, "udp4", "127.0.0.1:0", Options{BatchSize: 4})
	frames := randomFrames(3, 10, 4, 64)
	sendFrames(t, tx, frames, rx.LocalAddr()) // three sendmmsg calls
	rx.SetReadDeadline(time.Now().Add(waitTimeout))
	msgs := NewMessages(16, 128)
	var got []Datagram
	for len(got) < len(frames) {
		n, err := rx.ReadBatch(msgs)
		if err != nil {
			t.Fatal(err)
		}
		if n > 4 {
			t.Fatalf("ReadBatch returned %d > BatchSize 4", n)
		}
		for _, m := range msgs[:n] {
			got = append(got, Datagram{Addr: m.Addr, Data: append([]byte(nil), m.Payload()...)})
		}
	}
	checkFrames(t, got, frames, tx.LocalAddr())
}

func TestReadBatchFlagsTruncation(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			rx := listenMode(t, mode, "udp4", "127.0.0.1:0", Options{})
			tx := listenMode(t, mode, "udp4", "127.0.0.1:0", Options{})
			frames := [][]byte{make([]byte, 100), []byte("fits")}
			sendFrames(t, tx, frames, rx.LocalAddr())
			rx.SetReadDeadline(time.Now().Add(waitTimeout))
			msgs := NewMessages(1, 10)
			for i, want := range []struct {
				n     int
				trunc bool
			}{{10, true}, {4, false}} {
				n, err := rx.ReadBatch(msgs)
				if err != nil || n != 1 {
					t.Fatalf("read %d: %d, %v", i, n, err)
				}
				if msgs[0].N != want.n || msgs[0].Trunc != want.trunc {
					t.Errorf("read %d: N=%d Trunc=%v, want %d %v", i, msgs[0].N, msgs[0].Trunc, want.n, want.trunc)
				}
			}
		})
	}
}

func TestWriteBatchSkipsRejectedMessages(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			rx := listenMode(t, mode, "udp4", "127.0.0.1:0", Options{})
			tx := listenMode(t, mode, "udp4", "127.0.0.1:0", Options{})
			dst := rx.LocalAddr()
			msgs := []Message{
				{Buf: []byte("a"), Addr: dst},
				{Buf: make([]byte, 70000), Addr: dst}, // kernel: EMSGSIZE
				{Buf: []byte("b"), Addr: dst},
				{Buf: []byte("v6"), Addr: netip.MustParseAddrPort("[::1]:9")}, // ErrAddressFamily
				{Buf: []byte("c"), Addr: dst},
			}
			n, err := tx.WriteBatch(msgs)
			var we *WriteError
			if n != 3 || !errors.As(err, &we) || we.Failed != 2 || we.Index != 1 {
				t.Fatalf("WriteBatch = %d, %v; want 3 sent, 2 failed from index 1", n, err)
			}
			if !errors.Is(err, syscall.EMSGSIZE) {
				t.Errorf("first error %v, want EMSGSIZE", we.Err)
			}
			checkFrames(t, readDatagrams(t, rx, 3), [][]byte{[]byte("a"), []byte("b"), []byte("c")}, tx.LocalAddr())
		})
	}
}

func TestCloseUnblocksReadBatch(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			c, err := Listen("udp4", "127.0.0.1:0", Options{Blocking: mode.blocking})
			if err != nil {
				t.Fatal(err)
			}
			forceSingle(c, mode.single)
			errc := make(chan error, 1)
			go func() {
				_, err := c.ReadBatch(NewMessages(4, 64))
				errc <- err
			}()
			time.Sleep(20 * time.Millisecond) // let it block; the test holds without
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("ReadBatch after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(waitTimeout):
				t.Fatal("ReadBatch still blocked after Close")
			}
			if _, err := c.ReadBatch(NewMessages(1, 8)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("ReadBatch on closed Conn: %v", err)
			}
			n, err := c.WriteBatch(toMessages(randomFrames(4, 3, 4, 8), netip.MustParseAddrPort("127.0.0.1:9")))
			var we *WriteError
			if n != 0 || !errors.As(err, &we) || we.Failed != 3 || !errors.Is(err, net.ErrClosed) {
				t.Errorf("WriteBatch on closed Conn = %d, %v; want 0 and 3 failed, net.ErrClosed", n, err)
			}
		})
	}
}

func TestListenErrors(t *testing.T) { inIOModes(t, testListenErrors) }

func testListenErrors(t *testing.T, m mode) {
	tests := []struct {
		name, network string
		opts          Options
		want          string
	}{
		{"tcp", "tcp", Options{}, `network "tcp"`},
		{"hops", "udp4", Options{MulticastHops: 256}, "outside 1..255"},
		{"interface", "udp4", Options{MulticastInterface: "nosuchif0"}, `"nosuchif0"`},
		{"interface v6", "udp6", Options{MulticastInterface: "nosuchif0"}, `"nosuchif0"`},
		{"address", "udp4", Options{}, "nosuchhost.invalid"},
		{"zone", "udp6", Options{}, "nosuchif0"},
		{"in use", "udp4", Options{}, "address already in use"},
	}
	busy := listen(t, "udp4", "127.0.0.1:0", Options{})
	addrs := map[string]string{
		"address": "nosuchhost.invalid:0", "zone": "[fe80::1%nosuchif0]:0", "in use": busy.LocalAddr().String(),
	}
	for _, tc := range tests {
		tc.opts.Blocking = m.blocking
		addr := ":0"
		if a, ok := addrs[tc.name]; ok {
			addr = a
		}
		c, err := Listen(tc.network, addr, tc.opts)
		if err == nil {
			c.Close()
			t.Errorf("%s: Listen succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %s", tc.name, err, tc.want)
		}
	}
}

func TestSocketOptionsApplied(t *testing.T) { inIOModes(t, testSocketOptionsApplied) }

func testSocketOptionsApplied(t *testing.T, m mode) {
	c := listenMode(t, m, "udp", ":0", Options{
		ReusePort: true, MulticastInterface: "lo", MulticastHops: 7, NoMulticastLoop: true,
	})
	want := []struct {
		level, opt, val int
		name            string
	}{
		{unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"},
		{unix.SOL_SOCKET, unix.SO_BROADCAST, 1, "SO_BROADCAST"}, // as the net package sets it
		{unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0, "IPV6_V6ONLY"}, // "udp" on a wildcard: dual stack
		{unix.SOL_SOCKET, unix.SO_TYPE, unix.SOCK_DGRAM, "SO_TYPE"},
		{unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"},
		{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL"},
		{unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 7, "IP_MULTICAST_TTL"},
		{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP"},
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0, "IPV6_MULTICAST_ALL"},
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 7, "IPV6_MULTICAST_HOPS"},
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP"},
		{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, 1, "IPV6_MULTICAST_IF"}, // lo is index 1
	}
	err := c.control(func(fd int) error {
		for _, w := range want {
			got, err := unix.GetsockoptInt(fd, w.level, w.opt)
			if err != nil || got != w.val {
				t.Errorf("%s = %d, %v; want %d", w.name, got, err, w.val)
			}
		}
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if nonblock := fl&unix.O_NONBLOCK != 0; err != nil || nonblock == m.blocking {
			t.Errorf("O_NONBLOCK = %v, %v; want %v in %s mode", nonblock, err, !m.blocking, m.name)
		}
		if fd, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || fd&unix.FD_CLOEXEC == 0 {
			t.Errorf("FD_CLOEXEC not set: %#x, %v", fd, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBufferSizes(t *testing.T) { inIOModes(t, testBufferSizes) }

func testBufferSizes(t *testing.T, m mode) {
	c := listenMode(t, m, "udp4", "127.0.0.1:0", Options{})
	if rcv, snd := c.BufferSizes(); rcv <= 0 || snd <= 0 {
		t.Errorf("default BufferSizes = %d, %d", rcv, snd)
	}
	if err := c.BufferShortfall(); err != nil {
		t.Errorf("no request, shortfall %v", err)
	}
	if !hasCapNetAdmin(t) {
		return // the forced path needs CAP_NET_ADMIN; the capped path is tested below
	}
	// With CAP_NET_ADMIN, FORCE grants more than net.core.rmem_max.
	const big = 64 << 20
	c = listenMode(t, m, "udp4", "127.0.0.1:0", Options{RecvBuffer: big, SendBuffer: big / 2})
	if rcv, snd := c.BufferSizes(); rcv != 2*big || snd != big {
		t.Errorf("forced BufferSizes = %d, %d; want %d, %d", rcv, snd, 2*big, big)
	}
	if err := c.BufferShortfall(); err != nil {
		t.Errorf("forced: shortfall %v", err)
	}
}

// hasCapNetAdmin reports whether the calling thread may force buffer sizes.
func hasCapNetAdmin(t *testing.T) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}

// TestBufferSizeFallsBackWithoutCapNetAdmin drops CAP_NET_ADMIN from one
// locked thread (capabilities are per thread on Linux), so SO_RCVBUFFORCE is
// refused and the plain option, capped by net.core.rmem_max, applies.
func TestBufferSizeFallsBackWithoutCapNetAdmin(t *testing.T) {
	inIOModes(t, testBufferSizeFallsBackWithoutCapNetAdmin)
}

func testBufferSizeFallsBackWithoutCapNetAdmin(t *testing.T, m mode) {
	const big = 1 << 30 // above any sane rmem_max
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- result{err: err}
			return
		}
		data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- result{err: err}
			return
		}
		c, err := Listen("udp4", "127.0.0.1:0", Options{RecvBuffer: big, SendBuffer: big, Blocking: m.blocking})
		done <- result{c, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	rcv, snd := r.c.BufferSizes()
	if rcv >= 2*big || snd >= 2*big || rcv <= 0 || snd <= 0 {
		t.Errorf("BufferSizes = %d, %d; want capped below %d", rcv, snd, 2*big)
	}
	err := r.c.BufferShortfall()
	if err == nil || !strings.Contains(err.Error(), "net.core.rmem_max") || !strings.Contains(err.Error(), "net.core.wmem_max") {
		t.Errorf("BufferShortfall = %v; want both sysctls named", err)
	}
	t.Logf("granted without CAP_NET_ADMIN: rcv %d snd %d; %v", rcv, snd, err)
}

func TestKernelDropsCounted(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			rx := listenMode(t, mode, "udp4", "127.0.0.1:0", Options{RecvBuffer: 1}) // kernel minimum
			tx := listenMode(t, mode, "udp4", "127.0.0.1:0", Options{})
			const flood = 200
			sendFrames(t, tx, randomFrames(5, flood, 1000, 1000), rx.LocalAddr())
			msgs := NewMessages(8, 2048)
			queued := 0
			for i := 0; i < flood; i++ { // drain what the tiny buffer kept
				rx.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				n, err := rx.ReadBatch(msgs)
				if err != nil {
					break
				}
				queued += n
			}
			if queued == flood {
				t.Skip("the kernel kept every datagram; nothing to count")
			}
			// The counter rides on datagrams queued after the drops.
			sendFrames(t, tx, [][]byte{[]byte("marker")}, rx.LocalAddr())
			readDatagrams(t, rx, 1)
			drops := rx.KernelDrops()
			if drops == 0 || drops > uint64(flood-queued) {
				t.Errorf("KernelDrops = %d, want 1..%d (%d of %d queued)", drops, flood-queued, queued, flood)
			}
			t.Logf("%d of %d queued, KernelDrops %d", queued, flood, drops)
		})
	}
}

func TestZeroAllocsPerBatch(t *testing.T) {
	for _, network := range []struct{ net, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		for _, mode := range modes {
			t.Run(network.net+"/"+mode.name, func(t *testing.T) {
				rx := listenMode(t, mode, network.net, network.addr, Options{RecvBuffer: 8 << 20})
				tx := listenMode(t, mode, network.net, network.addr, Options{})
				const runs, batch = 100, 8
				out := toMessages(randomFrames(6, batch, 64, 256), rx.LocalAddr())
				in := NewMessages(batch, 2048)
				var failed error
				writes := testing.AllocsPerRun(runs, func() {
					if n, err := tx.WriteBatch(out); err != nil || n != batch {
						failed = err
					}
				})
				// runs+1 batches are queued now: every read below finds data.
				reads := testing.AllocsPerRun(runs, func() {
					if _, err := rx.ReadBatch(in); err != nil {
						failed = err
					}
				})
				if failed != nil {
					t.Fatal(failed)
				}
				if writes != 0 || reads != 0 {
					t.Errorf("allocations per call: WriteBatch %v, ReadBatch %v; want 0", writes, reads)
				}
			})
		}
	}
}

// TestConcurrentReadAndWrite runs a reader and a writer goroutine on each of
// two Conns at once, as the hot loops do; the race detector checks that the
// read and write sides share no state.
func TestConcurrentReadAndWrite(t *testing.T) { inIOModes(t, testConcurrentReadAndWrite) }

func testConcurrentReadAndWrite(t *testing.T, m mode) {
	a := listenMode(t, m, "udp4", "127.0.0.1:0", Options{RecvBuffer: 4 << 20})
	b := listenMode(t, m, "udp4", "127.0.0.1:0", Options{RecvBuffer: 4 << 20})
	const rounds = 20
	frames := randomFrames(14, 10, 4, 512)
	errc := make(chan error, 4)
	for _, pair := range [][2]*Conn{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		go func() { // writer
			for range rounds {
				if n, err := from.WriteBatch(toMessages(frames, to.LocalAddr())); err != nil || n != len(frames) {
					errc <- fmt.Errorf("WriteBatch = %d, %v", n, err)
					return
				}
			}
			errc <- nil
		}()
		go func() { // reader
			to.SetReadDeadline(time.Now().Add(waitTimeout))
			msgs := NewMessages(16, 2048)
			for got := 0; got < rounds*len(frames); {
				n, err := to.ReadBatch(msgs)
				if err != nil {
					errc <- fmt.Errorf("ReadBatch after %d: %w", got, err)
					return
				}
				for _, m := range msgs[:n] {
					if want := frames[got%len(frames)]; !bytes.Equal(m.Payload(), want) || m.Addr != from.LocalAddr() {
						errc <- fmt.Errorf("datagram %d differs", got)
						return
					}
					got++
				}
				_ = to.KernelDrops()
			}
			errc <- nil
		}()
	}
	for range 4 {
		if err := <-errc; err != nil { // each goroutine is bounded by its deadline or count
			t.Error(err)
		}
	}
}
