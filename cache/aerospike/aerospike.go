// Package aerospike provides an Aerospike Community Edition [cache.Backend]
// through aerospike-client-go v8, for the largest fleets.
//
// Each key is an Aerospike record in Options.Namespace and Options.Set whose
// user key is the key bytes (stored with the record, so listings can return
// it) and whose value is one blob bin. SetNX is a CREATE_ONLY write: an
// existing record (KEY_EXISTS) answers (false, nil). TTLs are whole seconds,
// rounded up, at least 1 s; ttl <= 0 never expires. Writes with a TTL need
// the namespace to expire records (nsup-period > 0, or
// allow-ttl-without-nsup true); otherwise the server rejects them.
//
// Every call is bounded by Options.OpTimeout, or by the caller's deadline
// when it is earlier, and never retried by the client. The client cannot be
// interrupted: a context canceled without a deadline is checked before each
// call, and the call itself ends within OpTimeout.
//
// The Backend also implements [cache.Batcher] (one batch command, split by
// node by the client) and [cache.Lister] (a scan of the set, partition by
// partition).
//
// Importing the package registers the "aerospike" kind with
// [cache.Register].
package aerospike

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/mcdedup/mcdedup/cache"
)

func init() {
	cache.Register(cache.BackendAerospike, func(cfg cache.Config) (cache.Backend, error) {
		ctx, cancel := context.WithTimeout(context.Background(), ConnectBudget(cfg.DialTimeout))
		defer cancel()
		return New(ctx, optionsFromConfig(cfg))
	})
}

// Backend is a cache.Backend, cache.Batcher and cache.Lister over an
// Aerospike cluster. It is safe for concurrent use.
type Backend struct {
	client    *as.Client
	ns, set   string
	opTimeout time.Duration
	probe     *as.Key // a key never written, read by Healthy
	closed    atomic.Bool
}

var (
	_ cache.Backend = (*Backend)(nil)
	_ cache.Batcher = (*Backend)(nil)
	_ cache.Lister  = (*Backend)(nil)
)

// probeKey is the user key Healthy and New look up; nothing writes it.
var probeKey = []byte("\x00mcdedup:health-probe")

// New connects to the cluster described by opts and verifies it by reading
// a record of the namespace (an unknown namespace fails here). The first
// connection is retried every 100 ms while ConnectBudget(opts.DialTimeout)
// lasts, since a node that has just started refuses clients for about a
// second; ctx may end the attempts sooner. New is fail-closed: it returns an
// error rather than a Backend that is not connected.
func New(ctx context.Context, opts Options) (*Backend, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	hosts, err := opts.hosts()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ConnectBudget(opts.DialTimeout))
	defer cancel()
	client, err := connect(ctx, opts, hosts)
	if err != nil {
		return nil, fmt.Errorf("aerospike: connecting to %s: %w", strings.Join(opts.Hosts, ","), err)
	}
	b := &Backend{client: client, ns: opts.Namespace, set: opts.Set, opTimeout: opts.OpTimeout}
	if b.probe, err = b.key(probeKey); err == nil {
		err = b.ping(ctx)
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("aerospike: verifying namespace %q: %w", opts.Namespace, err)
	}
	return b, nil
}

// connect creates the client, retrying while ctx leaves room for a full
// attempt. Each attempt is bounded by the dial timeout.
func connect(ctx context.Context, opts Options, hosts []*as.Host) (*as.Client, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !roomFor(ctx, opts.DialTimeout) {
			return nil, fmt.Errorf("%w (after %d attempts)", lastErr, attempt)
		}
		client, err := as.NewClientWithPolicyAndHost(opts.clientPolicy(), hosts...)
		if client != nil && (err == nil || client.IsConnected()) {
			// Connected; an error here only says the first cluster scan
			// had not settled, which tending completes.
			return client, nil
		}
		if client != nil {
			client.Close()
		}
		lastErr = err
		if hasCode(err, types.PARAMETER_ERROR) {
			return nil, err // a configuration error: retrying cannot help
		}
		if !roomFor(ctx, connectBackoff+opts.DialTimeout) {
			return nil, fmt.Errorf("%w (after %d attempts)", lastErr, attempt+1)
		}
		select {
		case <-ctx.Done():
			return nil, lastErr
		case <-time.After(connectBackoff):
		}
	}
}

// roomFor reports whether ctx lasts at least d more.
func roomFor(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) >= d
}

// key returns the Aerospike key of a cache key. The key refers to k only
// for the duration of the call that uses it.
func (b *Backend) key(k []byte) (*as.Key, error) {
	key, err := as.NewKey(b.ns, b.set, k)
	if err != nil {
		return nil, err
	}
	return key, nil
}

// begin checks that a call may start and returns its time budget.
func (b *Backend) begin(ctx context.Context) (time.Duration, error) {
	if b.closed.Load() {
		return 0, cache.ErrClosed
	}
	return timeout(ctx, b.opTimeout)
}

// wrap names the operation in an error and maps a closed client to
// cache.ErrClosed.
func (b *Backend) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if b.closed.Load() && !errors.Is(err, cache.ErrClosed) {
		err = fmt.Errorf("%w (%v)", cache.ErrClosed, err)
	}
	return fmt.Errorf("aerospike: %s: %w", op, err)
}

// prepare starts a single-key call: it checks the Backend and ctx and
// returns the call's time budget and the record key.
func (b *Backend) prepare(ctx context.Context, key []byte) (time.Duration, *as.Key, error) {
	d, err := b.begin(ctx)
	if err != nil {
		return 0, nil, err
	}
	k, err := b.key(key)
	return d, k, err
}

// SetNX implements cache.Backend with a CREATE_ONLY write; KEY_EXISTS is
// (false, nil).
func (b *Backend) SetNX(ctx context.Context, key, val []byte, ttl time.Duration) (bool, error) {
	d, k, err := b.prepare(ctx, key)
	if err == nil {
		err = asError(b.client.PutBins(writePolicy(d, ttl, as.CREATE_ONLY), k, as.NewBin(binName, valBytes(val))))
	}
	switch {
	case err == nil:
		return true, nil
	case hasCode(err, types.KEY_EXISTS_ERROR):
		return false, nil
	}
	return false, b.wrap("setnx", err)
}

// Set implements cache.Backend with a REPLACE write.
func (b *Backend) Set(ctx context.Context, key, val []byte, ttl time.Duration) error {
	d, k, err := b.prepare(ctx, key)
	if err == nil {
		err = asError(b.client.PutBins(writePolicy(d, ttl, as.REPLACE), k, as.NewBin(binName, valBytes(val))))
	}
	return b.wrap("set", err)
}

// Get implements cache.Backend; KEY_NOT_FOUND is a miss (nil, nil).
func (b *Backend) Get(ctx context.Context, key []byte) ([]byte, error) {
	d, k, err := b.prepare(ctx, key)
	var rec *as.Record
	if err == nil {
		bp := basePolicy(d)
		var aerr as.Error
		rec, aerr = b.client.Get(&bp, k, binName)
		err = asError(aerr)
	}
	switch {
	case err == nil:
		v, err := binValue(rec)
		return v, b.wrap("get", err)
	case hasCode(err, types.KEY_NOT_FOUND_ERROR):
		return nil, nil
	}
	return nil, b.wrap("get", err)
}

// Del implements cache.Backend; deleting an absent record is no error.
func (b *Backend) Del(ctx context.Context, key []byte) error {
	d, k, err := b.prepare(ctx, key)
	if err == nil {
		_, aerr := b.client.Delete(writePolicy(d, 0, as.UPDATE), k)
		err = asError(aerr)
	}
	if hasCode(err, types.KEY_NOT_FOUND_ERROR) {
		return nil
	}
	return b.wrap("del", err)
}

// Healthy implements cache.Backend: the client sees the cluster and a read
// of the namespace succeeds within the operation timeout.
func (b *Backend) Healthy(ctx context.Context) bool {
	if _, err := b.begin(ctx); err != nil {
		return false
	}
	return b.ping(ctx) == nil
}

// ping reads the probe record (a miss is fine) within the operation
// timeout.
func (b *Backend) ping(ctx context.Context) error {
	if !b.client.IsConnected() {
		return errors.New("not connected to any node")
	}
	d, err := timeout(ctx, b.opTimeout)
	if err != nil {
		return err
	}
	bp := basePolicy(d)
	_, aerr := b.client.Exists(&bp, b.probe)
	return asError(aerr)
}

// Close implements cache.Backend: it closes the connections and stops the
// cluster-tending goroutine. Calls after Close return cache.ErrClosed; a
// second Close returns nil.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.client.Close()
	return nil
}

// asError converts the client's Error interface to error, keeping nil nil.
func asError(err as.Error) error {
	if err == nil {
		return nil
	}
	return err
}
