package redis

import (
	"bytes"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/cache"
)

func TestSetArgs(t *testing.T) {
	for _, tc := range []struct {
		ttl  time.Duration
		want []any // after "set", key, val
	}{
		{0, nil},
		{-time.Second, nil},
		{time.Nanosecond, []any{"px", int64(1)}},
		{999 * time.Microsecond, []any{"px", int64(1)}},
		{time.Millisecond, []any{"px", int64(1)}},
		{time.Millisecond + 1, []any{"px", int64(2)}},
		{1500 * time.Millisecond, []any{"px", int64(1500)}},
		{10 * time.Minute, []any{"px", int64(600000)}},
		{math.MaxInt64, []any{"px", int64(math.MaxInt64/int64(time.Millisecond) + 1)}},
	} {
		for _, nx := range []bool{false, true} {
			got := setArgs([]byte("k"), nil, tc.ttl, nx)
			want := append([]any{"set"}, tc.want...)
			if nx {
				want = append(want, "nx")
			}
			if got[0] != "set" || string(got[1].([]byte)) != "k" || got[2].([]byte) == nil ||
				!slices.Equal(append(got[:1:1], got[3:]...), want) {
				t.Errorf("setArgs(ttl %v, nx %v) = %v, want set k \"\" %v", tc.ttl, nx, got, want[1:])
			}
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Addrs: []string{"h:1"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.PoolSize != DefaultPoolSize() || o.DialTimeout != cache.DefaultDialTimeout || o.OpTimeout != cache.DefaultOpTimeout ||
		o.MaxValueSize != DefaultMaxValueSize || o.NoFastPath {
		t.Fatalf("defaults = %+v", o)
	}
	if want := max(8, 4*runtime.GOMAXPROCS(0)); DefaultPoolSize() != want {
		t.Fatalf("DefaultPoolSize = %d, want %d", DefaultPoolSize(), want)
	}
	u := o.universal()
	if u.MaxRetries != -1 || u.DialerRetries != 1 || u.ReadTimeout != o.OpTimeout ||
		u.WriteTimeout != o.OpTimeout || u.PoolTimeout != o.OpTimeout || !u.ContextTimeoutEnabled {
		t.Fatalf("go-redis options %+v break the no-retry / deadline contract", u)
	}

	for _, bad := range []Options{
		{},
		{Addrs: []string{"a:1", "b:1"}},
		{Addrs: []string{"a:1"}, Cluster: true, MasterName: "m"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("withDefaults(%+v) accepted", bad)
		}
	}
	for _, good := range []Options{
		{Addrs: []string{"a:1", "b:1"}, Cluster: true},
		{Addrs: []string{"a:1"}, Cluster: true},
		{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster"},
	} {
		if _, err := good.withDefaults(); err != nil {
			t.Errorf("withDefaults(%+v): %v", good, err)
		}
	}
}

func TestOptionsFromConfig(t *testing.T) {
	o := optionsFromConfig(cache.Config{
		RedisAddr:       " a:1, b:2 ,,",
		RedisCluster:    true,
		RedisMasterName: "m",
		RedisPassword:   "pw",
		RedisPoolSize:   7,
		RedisNoFastPath: true,
		DialTimeout:     time.Second,
		OpTimeout:       time.Minute,
	})
	want := Options{Addrs: []string{"a:1", "b:2"}, Cluster: true, MasterName: "m", Password: "pw",
		PoolSize: 7, DialTimeout: time.Second, OpTimeout: time.Minute, NoFastPath: true}
	if !slices.Equal(o.Addrs, want.Addrs) || o.Cluster != want.Cluster || o.MasterName != want.MasterName ||
		o.Password != want.Password || o.PoolSize != want.PoolSize || o.DialTimeout != want.DialTimeout ||
		o.OpTimeout != want.OpTimeout || o.NoFastPath != want.NoFastPath {
		t.Fatalf("optionsFromConfig = %+v, want %+v", o, want)
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(cache.Kinds(), cache.BackendRedis) {
		t.Fatalf("kind %q not registered: %v", cache.BackendRedis, cache.Kinds())
	}
}

func TestThrottledLogger(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	now := time.Unix(1000, 0)
	l := &throttledLogger{now: func() time.Time { return now }}
	l.Printf(t.Context(), "dial %d failed", 1)
	for i := range 5 {
		now = now.Add(time.Second)
		l.Printf(t.Context(), "dial %d failed", i+2)
	}
	now = now.Add(logInterval)
	l.Printf(t.Context(), "dial %d failed", 7)

	out := buf.String()
	if n := strings.Count(out, "\n"); n != 2 {
		t.Fatalf("%d lines logged, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "dial 1 failed") || !strings.Contains(out, "dial 7 failed") || !strings.Contains(out, "suppressed=5") {
		t.Fatalf("unexpected log:\n%s", out)
	}
}
