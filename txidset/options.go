package txidset

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcdedup/mcdedup/cache"
)

// Defaults applied to zero Options fields.
const (
	DefaultTTL          = 10 * time.Minute
	DefaultMarkQueue    = 4096
	DefaultMarkWorkers  = 2
	DefaultMarkBatch    = 256
	DefaultFailures     = 3
	DefaultReconnectMin = 100 * time.Millisecond
	DefaultReconnectMax = 5 * time.Second
	DefaultDrainTimeout = time.Second
)

// Options configures a Set. The zero value of each field means the default
// its comment names; Capacity 0 means dedup is off.
type Options struct {
	// Capacity is the number of TxIDs held in tier 1. 0 disables dedup
	// entirely: every claim is Won (forwarded) and the backend is never
	// consulted for claims (State "disabled"). Marks still work.
	Capacity int
	// Shards is the tier-1 shard count (0 = automatic, see LocalOptions).
	Shards int
	// TTL is the claim lifetime in both tiers (0 = DefaultTTL). In tier 1
	// it runs from the last sighting; in the backend from the claim.
	TTL time.Duration
	// Prefix is prepended to hex(TxID) to form claim keys, e.g. "bsp:tx:"
	// (proxy ingress) or "bsl:egr:<deployment>:" (listener egress).
	Prefix string

	// Backend is a ready backend owned by the caller (Close does not close
	// it). Leave nil with BackendConfig nil for tier 1 only.
	Backend cache.Backend
	// BackendConfig, when Backend is nil, is opened with cache.Open in the
	// background, retried with capped exponential backoff until it succeeds
	// or Close is called; the Set runs degraded (tier 1 only, claim misses
	// FailOpen) meanwhile and owns the backend afterwards. Backend "" or
	// "none" means tier 1 only.
	BackendConfig *cache.Config
	// OpTimeout bounds each backend round trip (0 = BackendConfig's
	// OpTimeout, else cache.DefaultOpTimeout).
	OpTimeout time.Duration
	// Failures is the number of consecutive failed round trips after which
	// the backend is considered down: claims skip it (FailOpen at once) and
	// a background probe checks Healthy with capped backoff until it
	// recovers (0 = DefaultFailures).
	Failures int
	// ReconnectMin and ReconnectMax bound the backoff of background opens
	// and probes (0 = DefaultReconnectMin, DefaultReconnectMax).
	ReconnectMin, ReconnectMax time.Duration

	// MarkPrefix is the namespace Mark writes to, e.g. "bsp:tx:" on a
	// listener marking the proxies' namespace. Empty disables Mark (every
	// mark is dropped and counted).
	MarkPrefix string
	// MarkTTL is the lifetime of a mark (0 = TTL).
	MarkTTL time.Duration
	// MarkQueue bounds the TxIDs waiting to be marked (0 =
	// DefaultMarkQueue); a full queue drops.
	MarkQueue int
	// MarkWorkers drain the queue (0 = DefaultMarkWorkers).
	MarkWorkers int
	// MarkBatch is the most TxIDs one mark round trip writes (0 =
	// DefaultMarkBatch).
	MarkBatch int
	// DrainTimeout bounds how long Close spends writing queued marks (0 =
	// DefaultDrainTimeout).
	DrainTimeout time.Duration

	// Registerer receives the metrics (nil = metrics are kept but not
	// registered).
	Registerer prometheus.Registerer
	// Namespace and Subsystem prefix metric names, e.g. "proxy", "dedup".
	Namespace, Subsystem string
	// Clock returns the current time (nil = time.Now). Set reads it once
	// per ClaimBatch and measures durations from its first reading, so
	// time.Now's monotonic clock makes expiry immune to wall-clock steps.
	Clock func() time.Time
	// Logger receives state changes, never per-packet lines (nil = discard).
	Logger *slog.Logger
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("txidset: invalid options")

// withDefaults validates o and fills its defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Capacity < 0:
		return o, fmt.Errorf("%w: negative Capacity %d", ErrOptions, o.Capacity)
	case o.TTL < 0 || o.OpTimeout < 0 || o.MarkTTL < 0:
		return o, fmt.Errorf("%w: negative TTL, MarkTTL or OpTimeout", ErrOptions)
	case o.Backend != nil && o.BackendConfig != nil:
		return o, fmt.Errorf("%w: both Backend and BackendConfig set", ErrOptions)
	}
	if c := o.BackendConfig; c != nil {
		if c.Backend == "" || c.Backend == cache.BackendNone {
			o.BackendConfig = nil
		} else if !slices.Contains(cache.Kinds(), c.Backend) {
			return o, fmt.Errorf("%w: backend %q is not registered (have %v)", ErrOptions, c.Backend, cache.Kinds())
		} else if o.OpTimeout == 0 {
			o.OpTimeout = c.WithDefaults().OpTimeout
		}
	}
	orDefault(&o.TTL, DefaultTTL)
	orDefault(&o.OpTimeout, cache.DefaultOpTimeout)
	orDefault(&o.Failures, DefaultFailures)
	orDefault(&o.ReconnectMin, DefaultReconnectMin)
	orDefault(&o.ReconnectMax, DefaultReconnectMax)
	o.ReconnectMax = max(o.ReconnectMax, o.ReconnectMin)
	orDefault(&o.MarkTTL, o.TTL)
	orDefault(&o.MarkQueue, DefaultMarkQueue)
	orDefault(&o.MarkWorkers, DefaultMarkWorkers)
	orDefault(&o.MarkBatch, DefaultMarkBatch)
	orDefault(&o.DrainTimeout, DefaultDrainTimeout)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// orDefault replaces a zero or negative *v with d.
func orDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
