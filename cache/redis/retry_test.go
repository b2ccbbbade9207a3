package redis

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// replyLoser injects the fault a dedup gate must survive: a command reaches
// the server and executes, but its reply is lost with the connection. It
// wraps every connection of a client (as its Dialer); once armed, the first
// write holding marker is delivered, the server's reply is read and thrown
// away, and the connection reports EOF. It counts the writes holding marker:
// a client that re-sends the command after the EOF writes it twice.
type replyLoser struct {
	marker []byte
	armed  atomic.Bool
	sent   atomic.Int32 // writes containing marker
}

func (r *replyLoser) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &lossyConn{Conn: c, r: r}, nil
}

type lossyConn struct {
	net.Conn
	r *replyLoser

	mu   sync.Mutex
	lose bool // the next read swallows the reply and fails
}

func (c *lossyConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, c.r.marker) {
		c.r.sent.Add(1)
		if c.r.armed.CompareAndSwap(true, false) {
			c.mu.Lock()
			c.lose = true
			c.mu.Unlock()
		}
	}
	return c.Conn.Write(p)
}

func (c *lossyConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	lose := c.lose
	c.mu.Unlock()
	if lose {
		// The reply arriving proves the server executed the command.
		_ = c.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Conn.Read(make([]byte, 64<<10))
		_ = c.Conn.Close()
		return 0, io.EOF
	}
	return c.Conn.Read(p)
}

// TestLostReplyIsNotRetried pins the reason for MaxRetries -1 and noRetry:
// when the reply to SET NX is lost, the call must fail (the gate fails open
// and forwards) instead of re-sending SET NX, which would answer "exists"
// for the key the first attempt created and drop a frame nobody forwarded.
// Each case first shows that a go-redis client with default options does
// re-send (so the fault injection is real), then that the Backend does not.
func TestLostReplyIsNotRetried(t *testing.T) {
	srv := redistest.Start(t)
	cluster := redistest.StartCluster(t, 3)

	for _, tc := range []struct {
		name    string
		addrs   []string
		cluster bool
		batch   bool
		noFast  bool
	}{
		{"single/SetNX", []string{srv.Addr()}, false, false, false},
		{"single/SetNXBatch/fast", []string{srv.Addr()}, false, true, false},
		{"single/SetNXBatch/goredis", []string{srv.Addr()}, false, true, true},
		{"cluster/SetNX", cluster.Addrs(), true, false, false},
		{"cluster/SetNXBatch/fast", cluster.Addrs(), true, true, false},
		{"cluster/SetNXBatch/goredis", cluster.Addrs(), true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()

			t.Run("go-redis defaults retry", func(t *testing.T) {
				key := []byte("lost-reply:control:" + tc.name)
				loser := &replyLoser{marker: key}
				raw := goredis.NewUniversalClient(&goredis.UniversalOptions{
					Addrs: tc.addrs, IsClusterMode: tc.cluster, Dialer: loser.dial,
				})
				defer raw.Close()
				if err := raw.Ping(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				loser.armed.Store(true)
				created, err := raw.SetNX(ctx, string(key), "v", time.Minute).Result()
				if n := loser.sent.Load(); n < 2 || err != nil || created {
					t.Fatalf("control: SetNX = %v, %v after %d sends; want a silent retry answering false, nil", created, err, n)
				}
			})

			key := []byte("lost-reply:backend:" + tc.name)
			loser := &replyLoser{marker: key}
			b := newBackend(t, tc.addrs, tc.cluster, func(o *Options) {
				o.Dialer = loser.dial
				o.OpTimeout = 5 * time.Second // the fault, not a timeout, must end the call
				o.NoFastPath = tc.noFast
			})
			loser.armed.Store(true)
			var (
				created bool
				err     error
			)
			if tc.batch {
				ops := []cache.Op{{Key: key, Val: []byte("v"), TTL: time.Minute}}
				err = b.SetNXBatch(ctx, ops)
				created = ops[0].Created
				if (err == nil) != (ops[0].Err == nil) {
					t.Fatalf("batch error %v but op error %v", err, ops[0].Err)
				}
			} else {
				created, err = b.SetNX(ctx, key, []byte("v"), time.Minute)
			}
			if n := loser.sent.Load(); n != 1 {
				t.Fatalf("SET NX was sent %d times, want exactly once", n)
			}
			if err == nil {
				t.Fatalf("SetNX with a lost reply = %v, nil; want an error (fail open)", created)
			}
			// The first (only) attempt did create the key.
			if ok, err := b.SetNX(ctx, key, []byte("w"), time.Minute); err != nil || ok {
				t.Fatalf("SetNX afterwards = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

// TestNoRetryWrapper checks that the wrapper marks commands no-retry and
// leaves their results readable through the wrapped command.
func TestNoRetryWrapper(t *testing.T) {
	cmd := getCmd(context.Background(), []byte("k"))
	w := noRetry{cmd}
	if !w.NoRetry() {
		t.Fatal("noRetry.NoRetry() = false")
	}
	if cmd.NoRetry() {
		t.Fatal("a plain GET is already no-retry: the wrapper is not needed, revisit")
	}
	w.SetErr(goredis.Nil)
	if v, err := getResult(cmd); v != nil || err != nil {
		t.Fatalf("getResult after Nil = %q, %v", v, err)
	}
}
