package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// noRetry wraps a go-redis command so that it reports NoRetry. go-redis then
// never re-sends it after a network error: not the single-server retry loop
// (already off with MaxRetries -1), not the cluster client's loop (bounded by
// MaxRedirects, which also re-sends after EOF or a timeout), not a cluster
// pipeline (which re-sends a whole node's batch). MOVED and ASK redirections
// are still followed: the server refused the command without executing it.
//
// The wrapper embeds the go-redis Cmder interface, so every other method,
// including the unexported ones go-redis calls to write the command and read
// its reply, is the wrapped command's own; results are read from the wrapped
// command.
type noRetry struct{ goredis.Cmder }

// NoRetry implements goredis.Cmder.
func (noRetry) NoRetry() bool { return true }

// setArgs returns the arguments of SET key val [PX ms] [NX]: no expiry for
// ttl <= 0, else PX in whole milliseconds rounded up, so that a positive TTL
// never becomes "no expiry" or an error. Keys and values go to go-redis as
// []byte, which it writes as bulk strings (binary safe) during the call and
// does not keep.
func setArgs(key, val []byte, ttl time.Duration, nx bool) []any {
	args := make([]any, 3, 6)
	args[0], args[1], args[2] = "set", key, valArg(val)
	if ttl > 0 {
		args = append(args, "px", ttlMillis(ttl))
	}
	if nx {
		args = append(args, "nx")
	}
	return args
}

// ttlMillis converts a positive ttl to whole milliseconds, rounded up.
func ttlMillis(ttl time.Duration) int64 {
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return ms
}

func setNXCmd(ctx context.Context, key, val []byte, ttl time.Duration) *goredis.BoolCmd {
	return goredis.NewBoolCmd(ctx, setArgs(key, val, ttl, true)...)
}

func setCmd(ctx context.Context, key, val []byte, ttl time.Duration) *goredis.StatusCmd {
	return goredis.NewStatusCmd(ctx, setArgs(key, val, ttl, false)...)
}

func getCmd(ctx context.Context, key []byte) *goredis.StringCmd {
	return goredis.NewStringCmd(ctx, "get", key)
}

func delCmd(ctx context.Context, key []byte) *goredis.IntCmd {
	return goredis.NewIntCmd(ctx, "del", key)
}

// valArg makes a nil value an empty one: Redis stores the empty string, which
// Get returns as a non-nil empty slice.
func valArg(val []byte) []byte {
	if val == nil {
		return []byte{}
	}
	return val
}

// getResult converts the outcome of a GET: a nil reply is a miss (nil, nil);
// a hit is a fresh slice owned by the caller, non-nil even when empty.
func getResult(cmd *goredis.StringCmd) ([]byte, error) {
	s, err := cmd.Result()
	if err == goredis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s == "" {
		return []byte{}, nil
	}
	return []byte(s), nil
}
