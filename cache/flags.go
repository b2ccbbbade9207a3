package cache

import (
	"flag"

	"github.com/mcdedup/mcdedup/internal/envflag"
)

// Defaults of the flags registered by RegisterFlags. The Config zero value
// differs (unbounded memory store, no backend): the flags pick bounded,
// working values so that a binary runs out of the box.
const (
	// DefaultFlagBackend is the default of the -backend flag: the memory
	// backend needs no infrastructure and serves every binary.
	DefaultFlagBackend = BackendMemory
	// DefaultFlagMemoryMaxKeys is the default of -memory-max-keys.
	DefaultFlagMemoryMaxKeys = 1 << 20
	// DefaultFlagMemoryMaxBytes is the default of -memory-max-bytes
	// (256 MiB).
	DefaultFlagMemoryMaxBytes = 256 << 20
	// DefaultFlagAeroNamespace is the default of -aerospike-namespace; it
	// matches the reference implementation, so a mixed fleet shares one
	// namespace.
	DefaultFlagAeroNamespace = "cache"
	// DefaultFlagAeroSet is the default of -aerospike-set, as in the
	// reference implementation.
	DefaultFlagAeroSet = "bsv"
)

// flagSource records how RegisterFlags built a Config, so that Validate can
// report env errors and name flags and env vars in its messages.
type flagSource struct {
	flagPrefix, envPrefix string
	env                   *envflag.Set
}

// RegisterFlags wires the standard cache flags onto fs using the given flag
// prefix (e.g. "" for the retry endpoint's frame cache, or "egress-dedup-" /
// "ingress-dedup-" for the listener's two stores) and env prefix (e.g.
// "CACHE_", "EGRESS_DEDUP_"). It returns a *Config populated as flags are
// parsed. Every flag has an UPPERCASE env-var equivalent, matching the
// project convention: the env var is envPrefix followed by the flag name
// (without flagPrefix) in upper snake case, so with envPrefix "CACHE_" the
// flag <flagPrefix>op-timeout reads CACHE_OP_TIMEOUT. A flag given on the
// command line wins over its env var, which wins over the default.
//
// The flags are backend, memory-max-keys, memory-max-bytes, redis-addr,
// redis-cluster, redis-master-name, redis-password, redis-pool-size,
// redis-no-fast-path, aerospike-hosts (comma-separated),
// aerospike-namespace, aerospike-set, dial-timeout and op-timeout, each
// with flagPrefix in front.
//
// An env value that does not parse is not replaced by the default: it is
// reported by Config.Validate, which every caller runs after parsing:
//
//	cfg := cache.RegisterFlags(fs, "dedup-", "DEDUP_")
//	if err := fs.Parse(args); err != nil { … }
//	if err := cfg.Validate(); err != nil {
//		// e.g. cache: env DEDUP_OP_TIMEOUT="fast" (flag -dedup-op-timeout): invalid duration
//	}
//	backend, err := cache.Open(*cfg)
//
// Services that already own bespoke flag names may instead build a Config
// directly; RegisterFlags is a convenience for new wiring (proxy/listener).
func RegisterFlags(fs *flag.FlagSet, flagPrefix, envPrefix string) *Config {
	return RegisterFlagsDefaults(fs, flagPrefix, envPrefix, FlagDefaults())
}

// FlagDefaults returns the defaults of the flags RegisterFlags registers,
// for a caller of RegisterFlagsDefaults to change what differs.
func FlagDefaults() Config {
	return Config{
		Backend:        DefaultFlagBackend,
		MemoryMaxKeys:  DefaultFlagMemoryMaxKeys,
		MemoryMaxBytes: DefaultFlagMemoryMaxBytes,
		AeroNamespace:  DefaultFlagAeroNamespace,
		AeroSet:        DefaultFlagAeroSet,
		DialTimeout:    DefaultDialTimeout,
		OpTimeout:      DefaultOpTimeout,
	}
}

// RegisterFlagsDefaults is RegisterFlags with the flags' defaults taken
// from def (every field; start from FlagDefaults), for a binary whose
// default differs, such as the proxy's backend "none".
func RegisterFlagsDefaults(fs *flag.FlagSet, flagPrefix, envPrefix string, def Config) *Config {
	cfg := &Config{flags: &flagSource{flagPrefix: flagPrefix, envPrefix: envPrefix, env: envflag.New(fs)}}
	e, src := cfg.flags.env, cfg.flags
	e.StringVar(&cfg.Backend, src.flag("backend"), src.envName("backend"), def.Backend,
		"cache backend: memory, redis, aerospike or none")
	e.IntVar(&cfg.MemoryMaxKeys, src.flag("memory-max-keys"), src.envName("memory-max-keys"), def.MemoryMaxKeys,
		"memory backend: maximum number of keys (0 = unbounded)")
	e.Int64Var(&cfg.MemoryMaxBytes, src.flag("memory-max-bytes"), src.envName("memory-max-bytes"), def.MemoryMaxBytes,
		"memory backend: maximum bytes of keys and values, with per-key overhead (0 = unbounded)")
	e.StringVar(&cfg.RedisAddr, src.flag("redis-addr"), src.envName("redis-addr"), def.RedisAddr,
		"redis backend: host:port of the server; a comma-separated list names cluster or sentinel seeds")
	e.BoolVar(&cfg.RedisCluster, src.flag("redis-cluster"), src.envName("redis-cluster"), def.RedisCluster,
		"redis backend: the redis-addr seeds are a Redis Cluster")
	e.StringVar(&cfg.RedisMasterName, src.flag("redis-master-name"), src.envName("redis-master-name"), def.RedisMasterName,
		"redis backend: Sentinel master name (redis-addr then lists sentinels)")
	e.StringVar(&cfg.RedisPassword, src.flag("redis-password"), src.envName("redis-password"), def.RedisPassword,
		"redis backend: password (prefer the env var: command lines are visible to other users)")
	e.IntVar(&cfg.RedisPoolSize, src.flag("redis-pool-size"), src.envName("redis-pool-size"), def.RedisPoolSize,
		"redis backend: connections per node (0 = the backend's default)")
	e.BoolVar(&cfg.RedisNoFastPath, src.flag("redis-no-fast-path"), src.envName("redis-no-fast-path"), def.RedisNoFastPath,
		"redis backend: send batches through go-redis pipelines instead of the lean RESP path (slower; a fallback)")
	e.StringsVar(&cfg.AeroHosts, src.flag("aerospike-hosts"), src.envName("aerospike-hosts"), def.AeroHosts,
		"aerospike backend: comma-separated seed nodes host:port")
	e.StringVar(&cfg.AeroNamespace, src.flag("aerospike-namespace"), src.envName("aerospike-namespace"), def.AeroNamespace,
		"aerospike backend: namespace")
	e.StringVar(&cfg.AeroSet, src.flag("aerospike-set"), src.envName("aerospike-set"), def.AeroSet,
		"aerospike backend: set name")
	e.DurationVar(&cfg.DialTimeout, src.flag("dial-timeout"), src.envName("dial-timeout"), def.DialTimeout,
		"cache backend: connection timeout")
	e.DurationVar(&cfg.OpTimeout, src.flag("op-timeout"), src.envName("op-timeout"), def.OpTimeout,
		"cache backend: timeout of each operation or batch; keep it short, dedup fails open on it")
	return cfg
}

// flag returns the full flag name of a cache flag.
func (src *flagSource) flag(name string) string { return src.flagPrefix + name }

// envName returns the env var of a cache flag.
func (src *flagSource) envName(name string) string { return envflag.EnvName(src.envPrefix, name) }
