// Package cache defines a modular, TTL'd key-value backend with an atomic
// create-only operation (SetNX). It is the shared substrate of the two caching
// surfaces of the sidecar:
//
//   - Dedup / claim stores: the proxy ingress gate and the listener egress gate
//     (through package txidset) use SetNX as the cross-instance "who forwards
//     this TxID" race. An in-process tier-1 set inside txidset short-circuits
//     the hot path; a Backend is consulted only for TxIDs the process has not
//     seen, so backend latency never touches the per-packet steady state.
//   - Frame store: the retry endpoint stores raw frames keyed by
//     HashKey‖SeqNum (Set), serves them on NACK (Get) and dedups
//     retransmissions (SetNX).
//
// # Backend selection
//
// Backends are chosen at run time through Config.Backend and constructed with
// Open. The interface is deliberately minimal so that every Redis-protocol
// server (Redis, Valkey, Dragonfly, Redis Cluster) works through the single
// "redis" backend by address alone, while "aerospike" targets Aerospike for the
// largest fleets. Implementations live in the sub-packages memory, redis and
// aerospike; each registers itself with Register when imported. Binaries import
// package cache/all to link every backend.
//
// # Fail-open contract
//
// Dedup callers treat a SetNX error as "proceed" (fail open): a backend outage
// must never stop frames from forwarding. Backends therefore use short
// per-operation timeouts, never retry behind the caller's back, and surface
// errors rather than blocking. The frame store treats Get/Set errors as cache
// misses for the same reason.
//
// # Optional capabilities
//
// Backends may implement Batcher (many keys in one round trip, used by the hot
// loops once per receive batch) and Lister (key browsing by prefix or glob).
// Callers discover them by type assertion. Every Lister classifies patterns
// with NewMatcher, resolves page and result bounds with NormalizeList and
// encodes cursors as ListCursor, so that all backends list alike; the
// conformance suite in package cachetest checks every backend against these
// contracts.
//
// # Configuration
//
// RegisterFlags binds the Config fields to flags with UPPERCASE env
// equivalents; Config.Validate reports bad env values and inconsistent
// settings before Open is attempted:
//
//	cfg := cache.RegisterFlags(fs, "dedup-", "DEDUP_")
//	if err := fs.Parse(args); err != nil { … }
//	if err := cfg.Validate(); err != nil { … } // exit: invalid configuration
//	b, err := cache.Open(*cfg)
package cache

import (
	"context"
	"errors"
	"time"
)

// Backend kind identifiers accepted by Config.Backend and Open.
const (
	// BackendMemory is a per-process in-memory store: zero infrastructure,
	// used for development, CI and per-instance frame storage in the retry
	// endpoint. It provides no cross-instance coordination.
	BackendMemory = "memory"
	// BackendRedis targets any Redis-protocol server (Redis, Valkey,
	// Dragonfly, Redis Cluster, Sentinel) through go-redis. SetNX maps to
	// SET NX PX.
	BackendRedis = "redis"
	// BackendAerospike targets an Aerospike cluster. SetNX maps to a
	// CREATE_ONLY write; TTL granularity is whole seconds (floor 1 s).
	BackendAerospike = "aerospike"
	// BackendNone disables the backend entirely. Dedup stores fall back to
	// their in-process tier only (no cross-instance coordination); the retry
	// frame store cannot run with BackendNone and rejects it.
	BackendNone = "none"
)

// Backend is a TTL'd key-value store with an atomic create-only operation.
//
// All methods are safe for concurrent use. Keys and values are opaque byte
// slices; callers own namespacing (backends apply no prefix). A missing key is
// reported as (nil, nil) by Get, never as an error. Backends never retain a
// caller's key or value slice after a call returns.
type Backend interface {
	// SetNX atomically creates key=val with the given ttl iff key is absent.
	//
	//   - (true, nil): created; the caller won the race (proceed / forward).
	//   - (false, nil): key already existed; another claimant holds it (suppress).
	//   - (_, err): backend error; dedup callers fail open and proceed.
	//
	// ttl <= 0 means "no expiry" where the backend supports it.
	SetNX(ctx context.Context, key, val []byte, ttl time.Duration) (bool, error)
	// Set unconditionally writes key=val with the given ttl, overwriting any
	// existing value. ttl <= 0 means "no expiry" where supported.
	Set(ctx context.Context, key, val []byte, ttl time.Duration) error
	// Get returns the value stored under key, or (nil, nil) on miss or expiry.
	// The returned slice belongs to the caller.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Del removes key. Removing an absent key is not an error.
	Del(ctx context.Context, key []byte) error
	// Healthy is a cold-path readiness probe (/readyz). It must not be called
	// on the hot path. In-memory backends always report true.
	Healthy(ctx context.Context) bool
	// Close releases any resources (connections, background sweepers). Calls
	// after Close return ErrClosed.
	Close() error
}

// ErrClosed is returned by operations on a closed Backend.
var ErrClosed = errors.New("cache: backend closed")

// Op is one key of a batch operation. The caller owns the slice of Ops and
// fills Key (and Val, TTL for writes); the backend fills the result fields.
type Op struct {
	// Key is the full backend key (callers own namespacing).
	Key []byte
	// Val is the value to write for SetNXBatch and SetBatch. GetBatch sets it
	// to the stored value (a slice owned by the caller from then on), or nil
	// on a miss.
	Val []byte
	// TTL is the expiry of a written key; <= 0 means no expiry where
	// supported.
	TTL time.Duration
	// Created is set by SetNXBatch: true when this call created the key.
	Created bool
	// Err is this key's error, nil on success. A miss is not an error.
	Err error
}

// Batcher is implemented by backends that execute many single-key operations
// in one round trip (a Redis pipeline, split by slot on a cluster; an
// Aerospike batch; a plain loop in memory). Each Op gets exactly the outcome
// the single-key method would have given it. One context deadline bounds the
// whole batch. The returned error is non-nil only when the batch as a whole
// failed (for example the connection broke); every Op's Err is then set too,
// so callers may look at Op.Err alone.
type Batcher interface {
	// SetNXBatch is SetNX for every op; it sets Op.Created and Op.Err.
	SetNXBatch(ctx context.Context, ops []Op) error
	// SetBatch is Set for every op; it sets Op.Err.
	SetBatch(ctx context.Context, ops []Op) error
	// GetBatch is Get for every op; it sets Op.Val (nil on miss) and Op.Err.
	GetBatch(ctx context.Context, ops []Op) error
}

// ListOptions selects the keys a Lister returns.
type ListOptions struct {
	// Pattern is a key prefix, or a path.Match glob when it contains '*',
	// '?' or '['. Empty matches every key.
	Pattern string
	// Cursor continues a listing; empty starts one. Cursors are opaque and
	// valid only for the backend (and pattern) that produced them.
	Cursor string
	// Limit is the page size (<= 0 means DefaultListLimit; capped at
	// MaxListLimit).
	Limit int
	// Max is a hard cap on the keys returned over a whole listing, all pages
	// together (<= 0 means DefaultListMax; capped at MaxListMax).
	Max int
	// WithValues asks for each key's value too.
	WithValues bool
}

// Bounds on listings, applied by NormalizeList. They bound the memory and the
// response size of the key browser whatever the request asks for.
const (
	// DefaultListLimit is the page size when ListOptions.Limit <= 0.
	DefaultListLimit = 100
	// MaxListLimit caps ListOptions.Limit.
	MaxListLimit = 1000
	// DefaultListMax is the result cap when ListOptions.Max <= 0.
	DefaultListMax = 10000
	// MaxListMax caps ListOptions.Max.
	MaxListMax = 100000
)

// Entry is one key of a listing. Its slices belong to the caller.
type Entry struct {
	// Key is the full backend key.
	Key []byte
	// Val is the key's value, set only with ListOptions.WithValues.
	Val []byte
}

// ListPage is one page of a listing.
type ListPage struct {
	// Entries are the matching keys of this page.
	Entries []Entry
	// Cursor continues the listing; empty when the listing is complete or
	// the Max cap was reached.
	Cursor string
	// Truncated reports that the Max cap stopped the listing early.
	Truncated bool
	// Partial names the nodes (for example cluster masters) that failed;
	// their keys are missing from the listing.
	Partial []string
}

// Lister is implemented by backends that can browse their keys, for the
// operator key browser (never the hot path).
//
// A listing is a sequence of List calls, each passing the previous page's
// Cursor, until a page comes back with an empty Cursor. Over the whole
// listing every key that exists throughout it is returned exactly once (keys
// written or deleted meanwhile may or may not appear), at most Max keys in
// all and at most Limit per page; a page may hold fewer than Limit keys, even
// none, and still carry a Cursor. When Max stops a listing that had more
// matching keys, its last page has Truncated set.
type Lister interface {
	// List returns one page of the keys matching opts.Pattern. An invalid
	// glob is an error wrapping ErrBadPattern, a cursor the backend did not
	// produce one wrapping ErrBadCursor; after Close it returns ErrClosed.
	List(ctx context.Context, opts ListOptions) (ListPage, error)
}
