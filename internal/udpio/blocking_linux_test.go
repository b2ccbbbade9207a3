package udpio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// blockedIn counts this process's threads blocked in one of the system
// calls nrs on descriptor fd, from /proc/self/task/*/syscall ("NR 0xFD …"
// while in a call).
func blockedIn(t testing.TB, fd int, nrs ...uintptr) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/syscall")
		if err != nil {
			continue // the thread exited
		}
		for _, nr := range nrs {
			if strings.HasPrefix(string(b), fmt.Sprintf("%d %#x ", nr, fd)) {
				n++
			}
		}
	}
	return n
}

// recvCalls are the receive system calls of ReadBatch.
var recvCalls = []uintptr{unix.SYS_RECVMMSG, unix.SYS_RECVMSG}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(waitTimeout); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", waitTimeout, what)
		}
	}
}

// startRead runs one ReadBatch on c in a goroutine and returns the channel
// its error arrives on.
func startRead(c *Conn) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReadBatch(NewMessages(4, 64))
		errc <- err
	}()
	return errc
}

// TestBlockingCloseWakesReaderInKernel checks that the reader really waits
// inside recvmmsg (a thread in the system call, not a goroutine parked in
// the poller), and that Close wakes it promptly, on unconnected and on
// connected sockets, in both the batched and the fallback path.
func TestBlockingCloseWakesReaderInKernel(t *testing.T) {
	peer := listen(t, "udp4", "127.0.0.1:0", Options{})
	for _, m := range modes[2:] {
		for _, connected := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/connected=%v", m.name, connected), func(t *testing.T) {
				opts := Options{Blocking: true}
				if connected {
					opts.Peer = peer.LocalAddr()
				}
				c, err := Listen("udp4", "127.0.0.1:0", opts)
				if err != nil {
					t.Fatal(err)
				}
				forceSingle(c, m.single)
				fd := c.bfd.fd
				errc := startRead(c)
				waitFor(t, "no thread blocked in recvmmsg/recvmsg", func() bool { return blockedIn(t, fd, recvCalls...) == 1 })
				start := time.Now()
				if err := c.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				select {
				case err := <-errc:
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("ReadBatch: %v, want net.ErrClosed", err)
					}
					t.Logf("woken %v after Close", time.Since(start))
				case <-time.After(time.Second):
					t.Fatal("ReadBatch still blocked 1s after Close")
				}
				if n := blockedIn(t, fd, recvCalls...); n != 0 {
					t.Errorf("%d threads still in a receive call on fd %d", n, fd)
				}
				if err := c.Close(); !errors.Is(err, net.ErrClosed) {
					t.Errorf("second Close: %v, want net.ErrClosed", err)
				}
				if err := c.SetReadDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
					t.Errorf("SetReadDeadline after Close: %v, want net.ErrClosed", err)
				}
				if err := c.JoinGroup(testGroup4(40), "lo"); !errors.Is(err, net.ErrClosed) {
					t.Errorf("JoinGroup after Close: %v, want net.ErrClosed", err)
				}
			})
		}
	}
}

// TestBlockingReadDeadline checks the SO_RCVTIMEO implementation of read
// deadlines: a blocked call times out at the deadline (not before, not
// much after), a past deadline fails at once even with data queued, data
// arriving in time is returned, and clearing the deadline clears the
// socket's timeout so that the next call blocks until data or Close.
func TestBlockingReadDeadline(t *testing.T) {
	for _, m := range modes[2:] {
		t.Run(m.name, func(t *testing.T) {
			rx := listenMode(t, m, "udp4", "127.0.0.1:0", Options{})
			tx := listen(t, "udp4", "127.0.0.1:0", Options{})
			msgs := NewMessages(4, 64)

			const d = 150 * time.Millisecond
			start := time.Now()
			rx.SetReadDeadline(start.Add(d))
			if _, err := rx.ReadBatch(msgs); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("ReadBatch with nothing to read: %v, want os.ErrDeadlineExceeded", err)
			}
			var ne net.Error
			if _, err := rx.ReadBatch(msgs); !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("past deadline: %v, want a net.Error with Timeout()", err)
			}
			if el := time.Since(start); el < d || el > d+time.Second {
				t.Errorf("timed out after %v, want %v (+ scheduling slack)", el, d)
			}

			sendFrames(t, tx, [][]byte{[]byte("queued")}, rx.LocalAddr())
			waitFor(t, "datagram not queued", func() bool { return queued(t, rx) > 0 })
			rx.SetReadDeadline(time.Now().Add(-time.Second))
			if _, err := rx.ReadBatch(msgs); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("past deadline with data queued: %v, want os.ErrDeadlineExceeded", err)
			}
			rx.SetReadDeadline(time.Now().Add(waitTimeout))
			if n, err := rx.ReadBatch(msgs); n != 1 || err != nil || string(msgs[0].Payload()) != "queued" {
				t.Fatalf("ReadBatch before the deadline = %d, %v", n, err)
			}

			// A deadline a little ahead, extended before the next call.
			rx.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			rx.SetReadDeadline(time.Now().Add(waitTimeout))
			time.AfterFunc(50*time.Millisecond, func() { sendFrames(t, tx, [][]byte{[]byte("late")}, rx.LocalAddr()) })
			if n, err := rx.ReadBatch(msgs); n != 1 || err != nil {
				t.Fatalf("ReadBatch with an extended deadline = %d, %v", n, err)
			}

			rx.SetReadDeadline(time.Time{})
			errc := startRead(rx)
			waitFor(t, "reader not blocked", func() bool { return blockedIn(t, rx.bfd.fd, recvCalls...) == 1 })
			if got := rcvTimeout(t, rx); got != 0 {
				t.Errorf("SO_RCVTIMEO after clearing the deadline = %v, want none", got)
			}
			time.Sleep(d + 50*time.Millisecond) // past the old timeouts
			select {
			case err := <-errc:
				t.Fatalf("ReadBatch without a deadline returned: %v", err)
			default:
			}
			rx.Close()
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Errorf("ReadBatch after Close: %v", err)
			}
		})
	}
}

// queued returns the bytes waiting in c's receive queue (FIONREAD).
func queued(t testing.TB, c *Conn) int {
	var n int
	if err := c.control(func(fd int) (err error) {
		n, err = unix.IoctlGetInt(fd, unix.SIOCINQ)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// rcvTimeout returns the SO_RCVTIMEO set on c.
func rcvTimeout(t testing.TB, c *Conn) time.Duration {
	var tv *unix.Timeval
	if err := c.control(func(fd int) (err error) {
		tv, err = unix.GetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return time.Duration(tv.Nano())
}

// TestBlockingReadDeadlineAllocs: a deadline costs a setsockopt per call
// but no allocation.
func TestBlockingReadDeadlineAllocs(t *testing.T) {
	rx := listenMode(t, modes[2], "udp4", "127.0.0.1:0", Options{RecvBuffer: 4 << 20})
	tx := listen(t, "udp4", "127.0.0.1:0", Options{})
	const runs = 50
	out := toMessages(randomFrames(16, 4, 64, 64), rx.LocalAddr())
	for range runs + 1 {
		if _, err := tx.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
	}
	rx.SetReadDeadline(time.Now().Add(waitTimeout))
	if allocs := readAllocs(t, rx, NewMessages(4, 2048), runs); allocs != 0 {
		t.Errorf("ReadBatch with a deadline: %v allocations per call, want 0", allocs)
	}
}

// TestBlockingNoLeaks opens readers blocked in the kernel, closes their
// sockets and checks that nothing stays behind: no thread in a receive call
// on the closed descriptors, no goroutine, no descriptor, and over repeated
// rounds no growth in threads (the runtime reuses the threads it had to
// start for blocked calls).
func TestBlockingNoLeaks(t *testing.T) {
	const readers, rounds = 8, 4
	fds0, g0 := countFDs(t), runtime.NumGoroutine()
	var threads []int
	for range rounds {
		var conns []*Conn
		var errcs []<-chan error
		for range readers {
			c, err := Listen("udp4", "127.0.0.1:0", Options{Blocking: true})
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			errcs = append(errcs, startRead(c))
		}
		waitFor(t, "readers not blocked in the kernel", func() bool {
			n := 0
			for _, c := range conns {
				n += blockedIn(t, c.bfd.fd, recvCalls...)
			}
			return n == readers
		})
		threads = append(threads, countThreads(t))
		for i, c := range conns {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-errcs[i]; !errors.Is(err, net.ErrClosed) {
				t.Errorf("reader %d: %v", i, err)
			}
			if n := blockedIn(t, c.bfd.fd, recvCalls...); n != 0 {
				t.Errorf("reader %d: %d threads still in a receive call", i, n)
			}
		}
	}
	if fds := countFDs(t); fds != fds0 {
		t.Errorf("%d descriptors open after Close, %d before", fds, fds0)
	}
	waitFor(t, "goroutines left behind", func() bool { return runtime.NumGoroutine() <= g0 })
	// The first round may start threads; later rounds must reuse them.
	if last := threads[rounds-1]; last > threads[0]+2 {
		t.Errorf("threads with %d blocked readers per round: %v; they grow", readers, threads)
	}
	t.Logf("threads while %d readers were blocked, per round: %v", readers, threads)
}

func countFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func countThreads(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestBlockingCloseRaceNoFDReuse closes a blocking Conn while its reader is
// busy (in and out of recvmmsg over a backlog of datagrams), then at once opens new
// sockets, which take the lowest free descriptor numbers and so often the
// one just closed, and sends them datagrams. Were the old descriptor closed
// while the reader could still use it, the reader would receive the new
// sockets' datagrams and they would miss them. Run it under -race.
func TestBlockingCloseRaceNoFDReuse(t *testing.T) {
	iters := 300
	if testing.Short() {
		iters = 50
	}
	tx := listen(t, "udp4", "127.0.0.1:0", Options{})
	old := []byte("old")
	reused := 0
	for i := range iters {
		c, err := Listen("udp4", "127.0.0.1:0", Options{Blocking: true, RecvBuffer: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		oldFD := c.bfd.fd
		// A deadline makes every ReadBatch set SO_RCVTIMEO before its
		// recvmmsg: more time between taking the descriptor and the call.
		c.SetReadDeadline(time.Now().Add(time.Minute))
		stop := make(chan struct{})
		fed := make(chan struct{})
		go func() { // keeps the reader busy
			defer close(fed)
			msgs := toMessages([][]byte{old, old, old, old}, c.LocalAddr())
			for {
				select {
				case <-stop:
					return
				default:
				}
				tx.WriteBatch(msgs)
				runtime.Gosched()
			}
		}()
		readErr := make(chan error, 1)
		go func() {
			msgs := NewMessages(8, 64)
			for {
				n, err := c.ReadBatch(msgs)
				if err != nil {
					readErr <- err
					return
				}
				for _, m := range msgs[:n] {
					if string(m.Payload()) != string(old) {
						readErr <- fmt.Errorf("the closed Conn read %q, a datagram of another socket", m.Payload())
						return
					}
				}
			}
		}()
		time.Sleep(time.Duration(i%7) * 50 * time.Microsecond)
		// Stop feeding first: tx is single-writer, and datagrams to the old
		// port must not reach a new socket that got the same port. The
		// reader is still busy with the backlog.
		close(stop)
		<-fed
		time.Sleep(time.Duration(i%5) * 20 * time.Microsecond)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		fresh := openRawSockets(t, 4)
		for _, s := range fresh {
			if s.fd == oldFD {
				reused++
			}
			sendFrames(t, tx, [][]byte{[]byte("new")}, s.addr)
		}
		for _, s := range fresh {
			s.expect(t, "new")
			unix.Close(s.fd)
		}
		select {
		case err := <-readErr:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("iteration %d: reader: %v", i, err)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("iteration %d: reader still running after Close", i)
		}
	}
	if reused == 0 {
		t.Fatalf("no new socket reused a closed descriptor number in %d iterations: the test proved nothing", iters)
	}
	t.Logf("a new socket took the closed descriptor's number in %d of %d iterations", reused, iters)
}

// rawSocket is a plain blocking UDP socket outside udpio.
type rawSocket struct {
	fd   int
	addr netip.AddrPort
}

// openRawSockets opens n UDP sockets on 127.0.0.1 with a receive timeout;
// the caller closes them.
func openRawSockets(t *testing.T, n int) []rawSocket {
	t.Helper()
	out := make([]rawSocket, n)
	for i := range out {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		tv := unix.NsecToTimeval(waitTimeout.Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			t.Fatal(err)
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(sa.(*unix.SockaddrInet4).Port)
		out[i] = rawSocket{fd, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
	}
	return out
}

// expect reads one datagram and checks it is want.
func (s rawSocket) expect(t *testing.T, want string) {
	t.Helper()
	buf := make([]byte, 64)
	n, _, err := unix.Recvfrom(s.fd, buf, 0)
	if err != nil || string(buf[:n]) != want {
		t.Fatalf("socket on fd %d: received %q, %v; want %q (stolen by a reader of a closed Conn?)", s.fd, buf[:max(n, 0)], err, want)
	}
}
