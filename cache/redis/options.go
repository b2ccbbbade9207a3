package redis

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
)

// Options configures a Backend. Zero values mean the documented defaults.
type Options struct {
	// Addrs lists the server addresses (host:port). One address is a single
	// server; several need Cluster (cluster seed nodes) or MasterName
	// (Sentinel addresses).
	Addrs []string
	// Cluster selects Redis Cluster: Addrs are seed nodes and the client
	// discovers the masters and their slots. It is allowed with one seed.
	Cluster bool
	// MasterName selects Sentinel: Addrs are sentinels and MasterName names
	// the monitored master.
	MasterName string
	// Password authenticates to the Redis servers when set (sentinels are
	// contacted without one).
	Password string
	// PoolSize is the connection pool size per server node (0 means
	// DefaultPoolSize()). Batches use a second, lazily dialed pool of the
	// same size (the fast path's, or go-redis's pipeline pool), so each node
	// sees at most 2×PoolSize connections from one Backend. A batch that
	// finds every connection of a node busy waits for one until its
	// deadline.
	PoolSize int
	// DialTimeout bounds connection establishment, including the
	// verification in New (0 means cache.DefaultDialTimeout).
	DialTimeout time.Duration
	// OpTimeout bounds each operation or batch, and each round trip of a
	// listing (0 means cache.DefaultOpTimeout). It is also the socket
	// read/write timeout and the wait for a free pooled connection.
	OpTimeout time.Duration
	// Dialer, when set, opens the connections instead of a net.Dialer (a
	// proxy, a custom transport, fault injection in tests).
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// NoFastPath runs SetNXBatch, SetBatch and GetBatch through go-redis
	// pipelines instead of the fast path of raw RESP2 pipelines (see
	// fastpath.go): for comparison, or for a server the fast path does not
	// suit (cache.Config.RedisNoFastPath, flag redis-no-fast-path).
	// Sentinel always uses go-redis.
	NoFastPath bool
	// MaxValueSize bounds a value a fast-path GetBatch reads into memory (0
	// means DefaultMaxValueSize); a longer one is skipped and its Op.Err
	// wraps ErrValueTooLarge.
	MaxValueSize int64
}

// minPoolSize is the floor of DefaultPoolSize.
const minPoolSize = 8

// minIdleConns is the number of connections kept open per node while idle,
// so that the first single-key call after a quiet period does not pay a dial.
const minIdleConns = 2

// DefaultPoolSize returns the pool size used when Options.PoolSize is 0:
// 4×GOMAXPROCS, at least 8. The hot loops run one socket reader per CPU at
// most and each holds one connection per pipelined batch, so GOMAXPROCS
// connections serve them; the factor 4 leaves room for concurrent single-key
// callers (the retry endpoint answers NACKs with Get) without queueing.
// Connections are dialed on demand, so an idle process holds only a few.
func DefaultPoolSize() int {
	return max(minPoolSize, 4*runtime.GOMAXPROCS(0))
}

// optionsFromConfig maps a cache.Config (defaults applied) to Options.
func optionsFromConfig(cfg cache.Config) Options {
	var addrs []string
	for _, a := range strings.Split(cfg.RedisAddr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return Options{
		Addrs:       addrs,
		Cluster:     cfg.RedisCluster,
		MasterName:  cfg.RedisMasterName,
		Password:    cfg.RedisPassword,
		PoolSize:    cfg.RedisPoolSize,
		DialTimeout: cfg.DialTimeout,
		OpTimeout:   cfg.OpTimeout,
		NoFastPath:  cfg.RedisNoFastPath,
	}
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case len(o.Addrs) == 0:
		return o, errors.New("redis: no server address")
	case len(o.Addrs) > 1 && !o.Cluster && o.MasterName == "":
		return o, errors.New("redis: several addresses need cluster mode or a sentinel master name")
	case o.Cluster && o.MasterName != "":
		return o, errors.New("redis: cluster mode and a sentinel master name are exclusive")
	}
	if o.PoolSize <= 0 {
		o.PoolSize = DefaultPoolSize()
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = cache.DefaultDialTimeout
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = cache.DefaultOpTimeout
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = DefaultMaxValueSize
	}
	return o, nil
}

// newClient returns the go-redis client for o (defaults applied): a
// ClusterClient in cluster mode, else what NewUniversalClient picks (a
// Sentinel-backed client with a master name, a plain client otherwise).
//
// The cluster client runs with routing policies disabled: keyed commands go
// straight to the master of their slot. Its routing layer serves multi-key
// and keyless commands this package does not use, and on first use it
// fetches COMMAND info from up to three nodes outside the caller's deadline,
// which would add round trips (or stall on a hung node) on the first call.
func (o Options) newClient() goredis.UniversalClient {
	u := o.universal()
	if !o.Cluster {
		return goredis.NewUniversalClient(u)
	}
	co := u.Cluster()
	co.DisableRoutingPolicies = true
	return goredis.NewClusterClient(co)
}

// universal returns the go-redis options for o (defaults applied).
//
// Retries: go-redis retries a command whose connection failed (MaxRetries
// for a single server or Sentinel, MaxRedirects for a cluster). A retried
// SET NX whose first reply was lost would answer "exists" and make a dedup
// gate drop a frame nobody forwarded, so MaxRetries is -1 (which go-redis
// turns into zero retries; 0 would mean its default of 3), and every command
// is also marked no-retry (see noRetry), which stops the cluster client's
// own retry loop while still following MOVED/ASK redirections: a redirected
// command was refused, not executed. Dials are not retried either
// (DialerRetries 1 = one attempt), so a dead server costs one connection
// attempt per call.
func (o Options) universal() *goredis.UniversalOptions {
	return &goredis.UniversalOptions{
		Addrs:         o.Addrs,
		IsClusterMode: o.Cluster,
		MasterName:    o.MasterName,
		Password:      o.Password,
		Dialer:        o.Dialer,

		// RESP2 works with every Redis-protocol server (Redis ≥ 2.6,
		// Valkey, Dragonfly, KeyDB) and needs no push-notification
		// handling; skip CLIENT SETINFO, one round trip per connection.
		Protocol:        2,
		DisableIdentity: true,

		MaxRetries:      -1,
		MinRetryBackoff: -1,
		MaxRetryBackoff: -1,
		DialerRetries:   1,

		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.OpTimeout,
		WriteTimeout:          o.OpTimeout,
		ContextTimeoutEnabled: true,

		PoolSize:         o.PoolSize,
		PipelinePoolSize: o.PoolSize,
		MinIdleConns:     minIdleConns,
		PoolTimeout:      o.OpTimeout,
	}
}
