package cache_test

import (
	"bytes"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

// parse registers the cache flags with prefix "dd-" / env "DD_" on a new flag
// set and parses args. The environment comes from t.Setenv.
func parse(t *testing.T, args ...string) (*cache.Config, *flag.FlagSet) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	cfg := cache.RegisterFlags(fs, "dd-", "DD_")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cfg, fs
}

func TestRegisterFlagsDefaults(t *testing.T) {
	cfg, _ := parse(t)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate of the defaults: %v", err)
	}
	if cfg.Backend != cache.DefaultFlagBackend || cfg.MemoryMaxKeys != cache.DefaultFlagMemoryMaxKeys ||
		cfg.MemoryMaxBytes != cache.DefaultFlagMemoryMaxBytes || cfg.DialTimeout != cache.DefaultDialTimeout ||
		cfg.OpTimeout != cache.DefaultOpTimeout || cfg.AeroNamespace != cache.DefaultFlagAeroNamespace ||
		cfg.AeroSet != cache.DefaultFlagAeroSet || cfg.RedisAddr != "" || len(cfg.AeroHosts) != 0 {
		t.Fatalf("defaults: %+v", *cfg)
	}
}

// flagCase is a cache flag with an env value and a check of the Config it
// yields.
type flagCase struct {
	name, env, value string
	check            func(*cache.Config) bool
}

// everyFlag lists every cache flag.
var everyFlag = []flagCase{
	{"backend", "DD_BACKEND", "redis", func(c *cache.Config) bool { return c.Backend == "redis" }},
	{"memory-max-keys", "DD_MEMORY_MAX_KEYS", "123", func(c *cache.Config) bool { return c.MemoryMaxKeys == 123 }},
	{"memory-max-bytes", "DD_MEMORY_MAX_BYTES", "4096", func(c *cache.Config) bool { return c.MemoryMaxBytes == 4096 }},
	{"redis-addr", "DD_REDIS_ADDR", "r1:6379,r2:6379", func(c *cache.Config) bool { return c.RedisAddr == "r1:6379,r2:6379" }},
	{"redis-cluster", "DD_REDIS_CLUSTER", "true", func(c *cache.Config) bool { return c.RedisCluster }},
	{"redis-master-name", "DD_REDIS_MASTER_NAME", "mymaster", func(c *cache.Config) bool { return c.RedisMasterName == "mymaster" }},
	{"redis-password", "DD_REDIS_PASSWORD", "hunter2", func(c *cache.Config) bool { return c.RedisPassword == "hunter2" }},
	{"redis-pool-size", "DD_REDIS_POOL_SIZE", "17", func(c *cache.Config) bool { return c.RedisPoolSize == 17 }},
	{"redis-no-fast-path", "DD_REDIS_NO_FAST_PATH", "true", func(c *cache.Config) bool { return c.RedisNoFastPath }},
	{"aerospike-hosts", "DD_AEROSPIKE_HOSTS", "a1:3000, a2:3000", func(c *cache.Config) bool {
		return slices.Equal(c.AeroHosts, []string{"a1:3000", "a2:3000"})
	}},
	{"aerospike-namespace", "DD_AEROSPIKE_NAMESPACE", "ns", func(c *cache.Config) bool { return c.AeroNamespace == "ns" }},
	{"aerospike-set", "DD_AEROSPIKE_SET", "st", func(c *cache.Config) bool { return c.AeroSet == "st" }},
	{"dial-timeout", "DD_DIAL_TIMEOUT", "1s", func(c *cache.Config) bool { return c.DialTimeout == time.Second }},
	{"op-timeout", "DD_OP_TIMEOUT", "75ms", func(c *cache.Config) bool { return c.OpTimeout == 75*time.Millisecond }},
}

func TestRegisterFlagsEveryFlagHasAnEnvVar(t *testing.T) {
	_, fs := parse(t)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		i := slices.IndexFunc(everyFlag, func(e flagCase) bool { return "dd-"+e.name == f.Name })
		if i < 0 {
			t.Errorf("flag -%s is not covered by this test", f.Name)
			return
		}
		if want := "(env " + everyFlag[i].env + ")"; !strings.Contains(f.Usage, want) {
			t.Errorf("help of -%s = %q, want it to mention %s", f.Name, f.Usage, want)
		}
	})
	if n != len(everyFlag) {
		t.Errorf("%d flags registered, want %d", n, len(everyFlag))
	}
	for _, tc := range everyFlag {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			cfg, _ := parse(t)
			if !tc.check(cfg) {
				t.Errorf("%s=%q did not reach the Config: %+v", tc.env, tc.value, *cfg)
			}
			cfg, _ = parse(t, "-dd-"+tc.name+"="+tc.value)
			if !tc.check(cfg) {
				t.Errorf("-dd-%s=%q did not reach the Config: %+v", tc.name, tc.value, *cfg)
			}
		})
	}
}

func TestRegisterFlagsPrecedence(t *testing.T) {
	t.Setenv("DD_OP_TIMEOUT", "75ms")
	t.Setenv("DD_BACKEND", "redis")
	t.Setenv("DD_REDIS_ADDR", "env-host:6379")
	cfg, _ := parse(t, "-dd-op-timeout=20ms", "-dd-redis-addr=flag-host:6379")
	if cfg.OpTimeout != 20*time.Millisecond {
		t.Errorf("OpTimeout = %v: the flag must win over the env var", cfg.OpTimeout)
	}
	if cfg.RedisAddr != "flag-host:6379" {
		t.Errorf("RedisAddr = %q: the flag must win over the env var", cfg.RedisAddr)
	}
	if cfg.Backend != "redis" {
		t.Errorf("Backend = %q: the env var must win over the default", cfg.Backend)
	}
	if cfg.DialTimeout != cache.DefaultDialTimeout {
		t.Errorf("DialTimeout = %v, want the default", cfg.DialTimeout)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestRegisterFlagsBadEnvIsAnError(t *testing.T) {
	t.Setenv("DD_OP_TIMEOUT", "fast")
	t.Setenv("DD_MEMORY_MAX_KEYS", "lots")
	t.Setenv("DD_REDIS_CLUSTER", "maybe")
	cfg, _ := parse(t)
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad env values")
	}
	for _, want := range []string{
		`cache: env DD_OP_TIMEOUT="fast" (flag -dd-op-timeout): invalid duration`,
		`cache: env DD_MEMORY_MAX_KEYS="lots" (flag -dd-memory-max-keys): invalid integer`,
		`cache: env DD_REDIS_CLUSTER="maybe" (flag -dd-redis-cluster): invalid boolean`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
		}
	}
	// The bad value never silently became the default: OpTimeout is the
	// default only because Validate failed, and a flag overrides the env.
	cfg, _ = parse(t, "-dd-op-timeout=30ms", "-dd-memory-max-keys=5", "-dd-redis-cluster=false")
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate with every bad env var overridden by its flag: %v", err)
	}
}

func TestValidate(t *testing.T) {
	redis := func(c cache.Config) cache.Config { c.Backend = cache.BackendRedis; return c }
	for _, tc := range []struct {
		name string
		cfg  cache.Config
		want string // "" = valid
	}{
		{"memory", cache.Config{Backend: "memory"}, ""},
		{"none", cache.Config{Backend: "none"}, ""},
		{"empty backend", cache.Config{}, "Config.Backend: no backend selected"},
		{"unknown backend", cache.Config{Backend: "memcached"}, `Config.Backend: unknown backend "memcached"`},
		{"negative keys", cache.Config{Backend: "memory", MemoryMaxKeys: -1}, "Config.MemoryMaxKeys: must not be negative"},
		{"negative bytes", cache.Config{Backend: "memory", MemoryMaxBytes: -1}, "Config.MemoryMaxBytes: must not be negative"},
		{"negative timeout", cache.Config{Backend: "none", OpTimeout: -time.Second}, "Config.OpTimeout: must not be negative"},
		{"negative dial", cache.Config{Backend: "none", DialTimeout: -1}, "Config.DialTimeout: must not be negative"},
		{"negative pool", redis(cache.Config{RedisAddr: "h:1", RedisPoolSize: -2}), "Config.RedisPoolSize: must not be negative"},
		{"redis", redis(cache.Config{RedisAddr: "h:6379"}), ""},
		{"redis seeds", redis(cache.Config{RedisAddr: "h1:6379, h2:6379", RedisCluster: true}), ""},
		{"redis sentinel", redis(cache.Config{RedisAddr: "s1:26379", RedisMasterName: "m"}), ""},
		{"redis no addr", redis(cache.Config{}), "Config.RedisAddr: required by the redis backend"},
		{"redis blank addr", redis(cache.Config{RedisAddr: " , "}), "Config.RedisAddr: required"},
		{"redis no port", redis(cache.Config{RedisAddr: "localhost"}), `Config.RedisAddr: "localhost": want host:port`},
		{"redis cluster+sentinel", redis(cache.Config{RedisAddr: "h:1", RedisCluster: true, RedisMasterName: "m"}), "exclusive"},
		{"aerospike", cache.Config{Backend: "aerospike", AeroHosts: []string{"a:3000"}, AeroNamespace: "ns"}, ""},
		{"aerospike no hosts", cache.Config{Backend: "aerospike", AeroHosts: []string{" "}, AeroNamespace: "ns"}, "Config.AeroHosts: required"},
		{"aerospike no namespace", cache.Config{Backend: "aerospike", AeroHosts: []string{"a:3000"}}, "Config.AeroNamespace: required"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate = %v, want nil", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestValidateNamesFlagsAndEnvVars(t *testing.T) {
	cfg, _ := parse(t, "-dd-backend=redis", "-dd-memory-max-keys=-3")
	err := cfg.Validate()
	for _, want := range []string{
		"cache: -dd-redis-addr (env DD_REDIS_ADDR): required by the redis backend",
		"cache: -dd-memory-max-keys (env DD_MEMORY_MAX_KEYS): must not be negative",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to contain %q", err, want)
		}
	}
}

func TestHelpDoesNotPrintEnvSecrets(t *testing.T) {
	t.Setenv("DD_REDIS_PASSWORD", "hunter2")
	_, fs := parse(t)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.PrintDefaults()
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("-h shows the password from the environment:\n%s", out.String())
	}
}
