package aerospike

import (
	"context"
	"errors"
	"math"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
)

// binName is the bin holding a record's value.
const binName = "v"

// maxTTLSeconds is the largest TTL sent: the two values above it are the
// special "never expire" and "do not update".
const maxTTLSeconds = math.MaxUint32 - 2

// expiration converts a TTL to an Aerospike record expiration in seconds:
// ttl <= 0 never expires (TTLDontExpire); a positive ttl is rounded up to
// whole seconds, so it is at least 1 s and never "no expiry".
func expiration(ttl time.Duration) uint32 {
	if ttl <= 0 {
		return as.TTLDontExpire
	}
	s := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		s++
	}
	return uint32(min(s, maxTTLSeconds))
}

// timeout returns the time an operation may take: opTimeout, or less when
// ctx ends sooner. A context that is done (or ends now) is an error.
func timeout(ctx context.Context, opTimeout time.Duration) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d := opTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	if d <= 0 {
		return 0, context.DeadlineExceeded
	}
	return d, nil
}

// basePolicy bounds one command by d in total and per socket read, with no
// client retries: the Aerospike client retries timeouts and network errors
// by default, and a retried CREATE_ONLY write whose first reply was lost
// would report KEY_EXISTS for a record it created itself.
func basePolicy(d time.Duration) as.BasePolicy {
	p := *as.NewPolicy()
	p.TotalTimeout = d
	p.SocketTimeout = d
	p.MaxRetries = 0
	p.SleepBetweenRetries = 0
	// Fail at once rather than wait when the node's pool is exhausted.
	p.ExitFastOnExhaustedConnectionPool = true
	return p
}

// writePolicy returns the policy of a write: bounded by d, with the record
// expiration of ttl, the user key stored with the record (so listings can
// return it) and action deciding what happens to an existing record.
func writePolicy(d, ttl time.Duration, action as.RecordExistsAction) *as.WritePolicy {
	wp := as.NewWritePolicy(0, expiration(ttl))
	wp.BasePolicy = basePolicy(d)
	wp.SendKey = true
	wp.RecordExistsAction = action
	return wp
}

// batchPolicy returns the policy of a batch bounded by d: every key is
// attempted whatever happens to the others, all nodes at once.
func batchPolicy(d time.Duration) *as.BatchPolicy {
	bp := as.NewBatchPolicy()
	bp.BasePolicy = basePolicy(d)
	bp.ConcurrentNodes = 0
	bp.RespondAllKeys = true
	bp.AllowPartialResults = true
	return bp
}

// batchWritePolicy is writePolicy for one record of a batch.
func batchWritePolicy(ttl time.Duration, action as.RecordExistsAction) *as.BatchWritePolicy {
	bwp := as.NewBatchWritePolicy()
	bwp.RecordExistsAction = action
	bwp.Expiration = expiration(ttl)
	bwp.SendKey = true
	return bwp
}

// hasCode reports whether err is an Aerospike error carrying one of codes.
func hasCode(err error, codes ...types.ResultCode) bool {
	var ae as.Error
	return errors.As(err, &ae) && ae.Matches(codes...)
}

// binValue returns the value of a record's bin as a fresh, non-nil slice.
// A record without the bin holds the empty value (Aerospike drops empty
// bins on some versions).
func binValue(rec *as.Record) ([]byte, error) {
	if rec == nil {
		return nil, nil
	}
	switch v := rec.Bins[binName].(type) {
	case nil:
		return []byte{}, nil
	case []byte:
		return append(make([]byte, 0, len(v)), v...), nil
	case string:
		return []byte(v), nil
	default:
		return nil, errors.New("aerospike: record bin " + binName + " is not a blob")
	}
}

// valBytes makes a nil value an empty one.
func valBytes(val []byte) []byte {
	if val == nil {
		return []byte{}
	}
	return val
}
