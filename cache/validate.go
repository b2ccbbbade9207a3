package cache

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// Validate reports every problem with cfg, joined, or nil:
//
//   - for a Config from RegisterFlags, env values that did not parse (unless
//     the flag itself was given), naming the variable, its value and the
//     flag;
//   - an empty or unknown Backend (the kinds of this package and any
//     registered with Register are known);
//   - negative sizes or timeouts (a negative value is a mistake, not a
//     request for the default);
//   - for redis, a missing RedisAddr, an address without a port, or both
//     RedisCluster and RedisMasterName;
//   - for aerospike, missing AeroHosts or AeroNamespace.
//
// Messages name the flag and env var for a Config from RegisterFlags and the
// Config field otherwise. Open calls Validate after applying defaults.
func (cfg *Config) Validate() error {
	var errs []error
	bad := func(flag, field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("cache: %s: %s", cfg.name(flag, field), fmt.Sprintf(format, args...)))
	}
	if cfg.flags != nil {
		for _, err := range unjoin(cfg.flags.env.Err()) {
			errs = append(errs, fmt.Errorf("cache: %w", err))
		}
	}
	switch {
	case cfg.Backend == "":
		bad("backend", "Backend", "no backend selected (want %s)", kindList())
	case !knownKind(cfg.Backend):
		bad("backend", "Backend", "unknown backend %q (want %s)", cfg.Backend, kindList())
	}
	for _, n := range []struct {
		flag, field string
		v           int64
	}{
		{"memory-max-keys", "MemoryMaxKeys", int64(cfg.MemoryMaxKeys)},
		{"memory-max-bytes", "MemoryMaxBytes", cfg.MemoryMaxBytes},
		{"redis-pool-size", "RedisPoolSize", int64(cfg.RedisPoolSize)},
		{"dial-timeout", "DialTimeout", int64(cfg.DialTimeout)},
		{"op-timeout", "OpTimeout", int64(cfg.OpTimeout)},
	} {
		if n.v < 0 {
			bad(n.flag, n.field, "must not be negative")
		}
	}
	switch cfg.Backend {
	case BackendRedis:
		addrs := splitList(cfg.RedisAddr)
		if len(addrs) == 0 {
			bad("redis-addr", "RedisAddr", "required by the redis backend")
		}
		for _, a := range addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				bad("redis-addr", "RedisAddr", "%q: want host:port", a)
			}
		}
		if cfg.RedisCluster && cfg.RedisMasterName != "" {
			bad("redis-cluster", "RedisCluster", "cluster and sentinel (%s) are exclusive",
				cfg.name("redis-master-name", "RedisMasterName"))
		}
	case BackendAerospike:
		if len(slices.DeleteFunc(slices.Clone(cfg.AeroHosts), isBlank)) == 0 {
			bad("aerospike-hosts", "AeroHosts", "required by the aerospike backend")
		}
		if cfg.AeroNamespace == "" {
			bad("aerospike-namespace", "AeroNamespace", "required by the aerospike backend")
		}
	}
	return errors.Join(errs...)
}

// name identifies a setting in messages: "-<prefix>flag (env NAME)" for a
// Config from RegisterFlags, "Config.Field" otherwise.
func (cfg *Config) name(flag, field string) string {
	if cfg.flags == nil {
		return "Config." + field
	}
	return fmt.Sprintf("-%s (env %s)", cfg.flags.flag(flag), cfg.flags.envName(flag))
}

// knownKind reports whether kind is one of this package's kinds or registered.
func knownKind(kind string) bool {
	switch kind {
	case BackendMemory, BackendRedis, BackendAerospike, BackendNone:
		return true
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[kind] != nil
}

// kindList names the backend kinds for messages.
func kindList() string {
	return fmt.Sprintf("%s, %s, %s or %s", BackendMemory, BackendRedis, BackendAerospike, BackendNone)
}

// unjoin splits an errors.Join result into its errors.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// splitList splits a comma-separated list, trimming items and dropping blank
// ones.
func splitList(s string) []string {
	items := strings.Split(s, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return slices.DeleteFunc(items, isBlank)
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }
