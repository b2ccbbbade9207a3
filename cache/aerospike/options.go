package aerospike

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/mcdedup/mcdedup/cache"
)

// Options configures a Backend. Zero values mean the documented defaults.
type Options struct {
	// Hosts lists seed nodes as host:port (a bare host means port 3000).
	// The client discovers the rest of the cluster from them.
	Hosts []string
	// Namespace is the namespace records are written to. Required.
	Namespace string
	// Set is the set within the namespace; empty means records without a
	// set (a listing then scans the whole namespace).
	Set string
	// PoolSize is the connection pool size per node (0 means
	// DefaultPoolSize()). Aerospike runs one command per connection; a batch
	// uses one connection per node involved.
	PoolSize int
	// DialTimeout bounds each connection attempt of New and the client's
	// cluster-tending requests (0 means cache.DefaultDialTimeout). New
	// retries briefly, see ConnectBudget.
	DialTimeout time.Duration
	// OpTimeout bounds each operation, batch and partition scan (0 means
	// cache.DefaultOpTimeout).
	OpTimeout time.Duration
}

// DefaultPort is the Aerospike service port assumed for a host without one.
const DefaultPort = 3000

// minPoolSize is the floor of DefaultPoolSize.
const minPoolSize = 16

// DefaultPoolSize returns the pool size used when Options.PoolSize is 0:
// 4×GOMAXPROCS, at least 16. Hot loops (at most one per CPU) hold one
// connection per node during a batch; the rest serves concurrent single-key
// callers. Connections are opened on demand.
func DefaultPoolSize() int {
	return max(minPoolSize, 4*runtime.GOMAXPROCS(0))
}

// Connection retry of New: a node that has just started refuses clients for
// about a second, so New tries again every connectBackoff, within
// ConnectBudget.
const (
	connectBudgetMax    = 2 * time.Second
	connectBudgetFactor = 10
	connectBackoff      = 100 * time.Millisecond
)

// ConnectBudget returns how long New keeps trying to connect for a dial
// timeout: 10×dial, at most 2 s, and never less than one dial timeout.
// Every attempt is bounded by the dial timeout and a retry starts only while
// a full dial timeout of the budget remains, so New returns within the
// budget. A caller's earlier deadline stops the retries, but the first
// attempt may still take a full dial timeout.
func ConnectBudget(dial time.Duration) time.Duration {
	return max(dial, min(connectBudgetMax, connectBudgetFactor*dial))
}

// optionsFromConfig maps a cache.Config (defaults applied) to Options.
func optionsFromConfig(cfg cache.Config) Options {
	return Options{
		Hosts:       cfg.AeroHosts,
		Namespace:   cfg.AeroNamespace,
		Set:         cfg.AeroSet,
		DialTimeout: cfg.DialTimeout,
		OpTimeout:   cfg.OpTimeout,
	}
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	switch {
	case len(o.Hosts) == 0:
		return o, errors.New("aerospike: no seed host")
	case o.Namespace == "":
		return o, errors.New("aerospike: no namespace")
	}
	if o.PoolSize <= 0 {
		o.PoolSize = DefaultPoolSize()
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = cache.DefaultDialTimeout
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = cache.DefaultOpTimeout
	}
	return o, nil
}

// hosts parses o.Hosts.
func (o Options) hosts() ([]*as.Host, error) {
	hosts := make([]*as.Host, 0, len(o.Hosts))
	for _, h := range o.Hosts {
		name, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port (or an unbracketed IPv6 address): the default port.
			hosts = append(hosts, as.NewHost(h, DefaultPort))
			continue
		}
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return nil, errors.New("aerospike: bad port in host " + strconv.Quote(h))
		}
		hosts = append(hosts, as.NewHost(name, p))
	}
	return hosts, nil
}

// clientPolicy returns the client policy for o (defaults applied).
func (o Options) clientPolicy() *as.ClientPolicy {
	cp := as.NewClientPolicy()
	cp.Timeout = o.DialTimeout
	cp.LoginTimeout = o.DialTimeout
	cp.ConnectionQueueSize = o.PoolSize
	cp.FailIfNotConnected = true
	return cp
}
