package cache

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Default timeouts applied by Config.WithDefaults.
const (
	// DefaultDialTimeout bounds connection establishment when
	// Config.DialTimeout is zero.
	DefaultDialTimeout = 200 * time.Millisecond
	// DefaultOpTimeout bounds each operation or batch when
	// Config.OpTimeout is zero.
	DefaultOpTimeout = 50 * time.Millisecond
)

// Config is the backend-agnostic set of construction parameters consumed by
// Open. Each service builds one (typically through RegisterFlags) and passes
// it to Open. Only the fields relevant to the chosen Backend are read.
type Config struct {
	// Backend selects the implementation: BackendMemory, BackendRedis,
	// BackendAerospike or BackendNone.
	Backend string
	// MemoryMaxKeys bounds the in-memory backend by key count (0 =
	// unbounded by count). Ignored by other backends.
	MemoryMaxKeys int
	// MemoryMaxBytes bounds the in-memory backend by the total size of keys
	// and values (0 = unbounded by size). Ignored by other backends.
	MemoryMaxBytes int64
	// RedisAddr is the host:port of a Redis-protocol server; a
	// comma-separated list names several seeds (cluster or sentinel).
	// Required when Backend == BackendRedis.
	RedisAddr string
	// RedisCluster makes several RedisAddr seeds a Redis Cluster.
	RedisCluster bool
	// RedisMasterName selects Sentinel mode: RedisAddr lists sentinels and
	// this names the monitored master.
	RedisMasterName string
	// RedisPassword authenticates to Redis (and Sentinel) when set.
	RedisPassword string
	// RedisPoolSize is the connection pool size per node (0 = a size fit
	// for the hot loops, see package redis).
	RedisPoolSize int
	// RedisNoFastPath sends batches through go-redis pipelines instead of
	// package redis's lean RESP path: an operator's way back if a
	// Redis-protocol server or proxy disagrees with the lean path (slower).
	RedisNoFastPath bool
	// AeroHosts is the list of Aerospike seed nodes (host:port). Required
	// when Backend == BackendAerospike.
	AeroHosts []string
	// AeroNamespace is the Aerospike namespace records are written to.
	AeroNamespace string
	// AeroSet is the Aerospike set name within the namespace.
	AeroSet string
	// DialTimeout bounds initial connection establishment (<= 0 means
	// DefaultDialTimeout, 200 ms; Validate rejects a negative value as a
	// likely mistake, Open treats it as 0).
	DialTimeout time.Duration
	// OpTimeout bounds each individual operation or batch (<= 0 means
	// DefaultOpTimeout, 50 ms; Validate rejects a negative value, Open
	// treats it as 0). Kept short so dedup callers fail open
	// quickly on a slow backend.
	OpTimeout time.Duration

	// flags is set by RegisterFlags: env errors and names for Validate.
	flags *flagSource
}

// WithDefaults returns cfg with zero timeouts replaced by their defaults.
func (cfg Config) WithDefaults() Config {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	return cfg
}

// OpenFunc constructs a Backend from a Config that has had its defaults
// applied. It must be fail-closed: dial and verify, or return an error.
type OpenFunc func(cfg Config) (Backend, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{} // guarded by registryMu
)

// Register makes a backend kind available to Open. The backend sub-packages
// call it from init; registering a kind twice panics.
func Register(kind string, open OpenFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[kind]; dup {
		panic("cache: Register called twice for backend " + kind)
	}
	registry[kind] = open
}

// Kinds lists the registered backend kinds, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// Open constructs the Backend selected by cfg.Backend. It is fail-closed: for
// the redis and aerospike backends it dials and verifies connectivity within
// cfg.DialTimeout, returning an error rather than a degraded backend. Callers
// that want a fail-open boot (tier-1 only while the backend is down) catch the
// error and retry in the background, as package txidset does.
//
// Open applies Config.WithDefaults and then Config.Validate, so an invalid
// Config fails before any connection is attempted.
//
// BackendNone returns (nil, nil): the caller runs without a cross-instance
// backend. Frame-store callers must reject a nil backend.
func Open(cfg Config) (Backend, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backend == BackendNone {
		return nil, nil
	}
	registryMu.RLock()
	open := registry[cfg.Backend]
	registryMu.RUnlock()
	if open == nil {
		switch cfg.Backend {
		case BackendMemory, BackendRedis, BackendAerospike:
			return nil, fmt.Errorf("cache: backend %q is not linked into this program (import github.com/mcdedup/mcdedup/cache/all)", cfg.Backend)
		}
		return nil, fmt.Errorf("cache: unknown backend %q (want %s, %s, %s or %s)",
			cfg.Backend, BackendMemory, BackendRedis, BackendAerospike, BackendNone)
	}
	return open(cfg)
}
