// Package redis provides a Redis-protocol [cache.Backend]: Redis, Valkey,
// Dragonfly and other servers speaking the protocol, as a single server, a
// Redis Cluster or behind Sentinel, through the go-redis v9 UniversalClient.
// The server kind is chosen by address alone (Options.Addrs, Cluster,
// MasterName).
//
// SetNX is SET key val NX PX ms. Every call runs under a deadline of
// Options.OpTimeout (or the caller's earlier one) and is never retried by the
// client: a retried SET NX whose first reply was lost would answer "exists"
// and drop a frame nobody forwarded. Errors are returned, never hidden, so
// dedup callers can fail open.
//
// The Backend also implements [cache.Batcher] (one pipeline per batch; on a
// cluster, one pipeline per master) and [cache.Lister] (SCAN MATCH on the
// server, or on every master of a cluster). Batches on a single server or a
// cluster take a fast path of our own: raw RESP2 pipelines over a bounded
// pool of connections per node, with no allocation per key (see
// fastpath.go); Sentinel, and Options.NoFastPath, use go-redis pipelines.
//
// Importing the package registers the "redis" kind with [cache.Register] and
// routes the go-redis log to log/slog, at most one line per 10 s: go-redis
// logs every failed dial, which would be a line per call while a server is
// down.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
)

func init() {
	goredis.SetLogger(&throttledLogger{now: time.Now})
	cache.Register(cache.BackendRedis, func(cfg cache.Config) (cache.Backend, error) {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.DialTimeout)
		defer cancel()
		return New(ctx, optionsFromConfig(cfg))
	})
}

// Backend is a cache.Backend, cache.Batcher and cache.Lister over a
// Redis-protocol server or cluster. It is safe for concurrent use.
type Backend struct {
	client    goredis.UniversalClient
	cluster   *goredis.ClusterClient // the same client when in cluster mode, else nil
	fast      *fastPath              // the batches' fast path; nil for Sentinel or Options.NoFastPath
	opTimeout time.Duration
	name      string // the node name of a single server in listings
	closed    atomic.Bool
}

var (
	_ cache.Backend = (*Backend)(nil)
	_ cache.Batcher = (*Backend)(nil)
	_ cache.Lister  = (*Backend)(nil)
)

// New connects to the servers described by opts and verifies them with PING
// (on a cluster, on every master): within opts.DialTimeout and the deadline
// of ctx, each reply within opts.OpTimeout; on a cluster it also loads the
// slot table of the batches' fast path. It is fail-closed: it returns an
// error rather than a Backend that is not connected.
func New(ctx context.Context, opts Options) (*Backend, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Backend{
		client:    opts.newClient(),
		opTimeout: opts.OpTimeout,
		name:      strings.Join(opts.Addrs, ","),
	}
	b.cluster, _ = b.client.(*goredis.ClusterClient)

	ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	if err := b.ping(ctx); err != nil {
		_ = b.client.Close()
		return nil, fmt.Errorf("redis: connecting to %s: %w", b.name, err)
	}
	if err := b.startFastPath(ctx, opts); err != nil {
		_ = b.client.Close()
		return nil, fmt.Errorf("redis: connecting to %s: %w", b.name, err)
	}
	return b, nil
}

// startFastPath sets up the batches' fast path for a single server or a
// cluster (loading its slot table), unless opts disable it or name a
// Sentinel master. Its connections are dialed on first use.
func (b *Backend) startFastPath(ctx context.Context, opts Options) error {
	if opts.NoFastPath || opts.MasterName != "" {
		return nil
	}
	cfg := &poolConfig{
		size:        opts.PoolSize,
		dialTimeout: opts.DialTimeout,
		password:    opts.Password,
		dialer:      opts.Dialer,
		maxValue:    opts.MaxValueSize,
	}
	f := newFastPath()
	if b.cluster == nil {
		f.single = newNodePool(opts.Addrs[0], 0, cfg)
	} else {
		f.cluster = newSlotRouter(cfg, opts.Addrs[0], opts.DialTimeout+opts.OpTimeout, b.clusterSlots)
		if err := f.cluster.refresh(ctx); err != nil {
			f.close()
			return err
		}
	}
	b.fast = f
	return nil
}

// ping checks the server, or every master of a cluster, under ctx.
func (b *Backend) ping(ctx context.Context) error {
	if b.cluster == nil {
		return b.client.Process(ctx, noRetry{goredis.NewStatusCmd(ctx, "ping")})
	}
	masters, err := b.masters(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range masters {
		if err := m.client.Process(ctx, noRetry{goredis.NewStatusCmd(ctx, "ping")}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.addr, err))
		}
	}
	return errors.Join(errs...)
}

// opContext returns ctx bounded by the operation timeout, unless ctx already
// ends sooner (then no timer is allocated).
func (b *Backend) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= b.opTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, b.opTimeout)
}

// deadline returns the deadline of a batch starting now: OpTimeout from
// now, or the deadline of ctx when sooner.
func (b *Backend) deadline(ctx context.Context) time.Time {
	dl := time.Now().Add(b.opTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		return d
	}
	return dl
}

// begin checks that a call may start: the Backend is open and ctx is live.
func (b *Backend) begin(ctx context.Context) error {
	if b.closed.Load() {
		return cache.ErrClosed
	}
	return ctx.Err()
}

// run executes one command under the operation deadline.
func (b *Backend) run(ctx context.Context, cmd goredis.Cmder) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	ctx, cancel := b.opContext(ctx)
	defer cancel()
	return b.client.Process(ctx, noRetry{cmd})
}

// wrap names the operation in an error and maps a closed client to
// cache.ErrClosed.
func (b *Backend) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, goredis.ErrClosed) || (b.closed.Load() && !errors.Is(err, cache.ErrClosed)) {
		err = fmt.Errorf("%w (%v)", cache.ErrClosed, err)
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// SetNX implements cache.Backend with SET key val NX [PX ms]: ttl <= 0 means
// no expiry and a positive ttl is rounded up to whole milliseconds.
func (b *Backend) SetNX(ctx context.Context, key, val []byte, ttl time.Duration) (bool, error) {
	cmd := setNXCmd(ctx, key, val, ttl)
	if err := b.run(ctx, cmd); err != nil {
		return false, b.wrap("setnx", err)
	}
	return cmd.Val(), nil
}

// Set implements cache.Backend with SET key val [PX ms].
func (b *Backend) Set(ctx context.Context, key, val []byte, ttl time.Duration) error {
	return b.wrap("set", b.run(ctx, setCmd(ctx, key, val, ttl)))
}

// Get implements cache.Backend with GET; a nil reply is a miss (nil, nil).
func (b *Backend) Get(ctx context.Context, key []byte) ([]byte, error) {
	cmd := getCmd(ctx, key)
	if err := b.run(ctx, cmd); err != nil && err != goredis.Nil {
		return nil, b.wrap("get", err)
	}
	return getResult(cmd)
}

// Del implements cache.Backend with DEL.
func (b *Backend) Del(ctx context.Context, key []byte) error {
	return b.wrap("del", b.run(ctx, delCmd(ctx, key)))
}

// Healthy implements cache.Backend: PING under the operation deadline; on a
// cluster every master must answer, since the keys of a silent master would
// all fail.
func (b *Backend) Healthy(ctx context.Context) bool {
	if b.begin(ctx) != nil {
		return false
	}
	ctx, cancel := b.opContext(ctx)
	defer cancel()
	return b.ping(ctx) == nil
}

// Close implements cache.Backend: it closes every connection and stops the
// client's background work. Calls after Close return cache.ErrClosed; a
// second Close returns nil.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if b.fast != nil {
		b.fast.close()
	}
	if err := b.client.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}
