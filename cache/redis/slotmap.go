package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
)

// minRefreshInterval is the least time between two background refreshes of
// the slot table: a dead master fails every batch, and each failure asks for
// a refresh.
const minRefreshInterval = 250 * time.Millisecond

// noNode marks a slot no master serves in a slotTable.
const noNode = math.MaxUint16

// errNoSlotOwner is the Op.Err of a key whose slot no known master serves.
var errNoSlotOwner = errors.New("redis: no cluster master serves the key's slot")

// slotTable maps each hash slot to the pool of its master. It is immutable
// once published.
type slotTable struct {
	nodes []*nodePool          // the masters, in pool id order
	slots [clusterSlots]uint16 // index into nodes, or noNode
}

// slotRouter routes the keys of fast-path batches to the masters of a
// cluster. Its table comes from CLUSTER SLOTS (through the go-redis cluster
// client, which knows the nodes) at start, and again in the background,
// at most every minRefreshInterval, after a MOVED reply, a key of an
// unserved slot, or a connection failure.
type slotRouter struct {
	cfg *poolConfig
	// seedHost replaces a loopback or unspecified host in the addresses the
	// cluster reports (CLUSTER SLOTS, MOVED, ASK): the seed's host when it
	// is not loopback itself, else "" (addresses are used as reported).
	seedHost       string
	load           func(ctx context.Context) ([]goredis.ClusterSlot, error)
	refreshTimeout time.Duration

	table atomic.Pointer[slotTable] // read lock-free by every batch

	mu      sync.Mutex           // guards the fields below, and bg.Add against close
	pools   map[string]*nodePool // by address: the table's masters and nodes named by redirections since
	retired []*nodePool          // pools dropped from the table that still have connections in use
	nextID  uint64               // the id of the next pool
	closed  bool

	refreshing  atomic.Bool   // a background refresh is running
	lastRefresh atomic.Int64  // when the last background refresh started, UnixNano
	refreshes   atomic.Uint64 // tables published, for tests
	stop        context.Context
	cancel      context.CancelFunc // ends a running refresh at close
	bg          sync.WaitGroup     // the running refresh
}

func newSlotRouter(cfg *poolConfig, seed string, refreshTimeout time.Duration,
	load func(context.Context) ([]goredis.ClusterSlot, error)) *slotRouter {
	r := &slotRouter{cfg: cfg, load: load, refreshTimeout: refreshTimeout, pools: make(map[string]*nodePool)}
	if host, _, err := net.SplitHostPort(seed); err == nil && !loopbackHost(host) {
		r.seedHost = host
	}
	r.stop, r.cancel = context.WithCancel(context.Background())
	return r
}

// route groups the ops by master into s.groups, in pool id order. An op
// whose slot has no master gets errNoSlotOwner.
func (r *slotRouter) route(ops []cache.Op, s *batchScratch) {
	t := r.table.Load()
	s.count = grow(s.count, len(t.nodes))
	clear(s.count)
	s.node = grow(s.node, len(ops))
	unserved := false
	for i := range ops {
		n := t.slots[keySlot(ops[i].Key)]
		if n == noNode {
			s.node[i] = -1
			ops[i].Err = errNoSlotOwner
			unserved = true
			continue
		}
		s.node[i] = int32(n)
		s.count[n]++
	}
	if unserved {
		r.refreshSoon()
	}
	// A counting sort: stable, so each node receives its ops in batch order
	// (SET NX of one key twice in a batch: the first wins).
	off := int32(0)
	for n, c := range s.count {
		s.count[n] = off
		off += c
	}
	for i, n := range s.node {
		if n >= 0 {
			s.order[s.count[n]] = int32(i)
			s.count[n]++
		}
	}
	start := int32(0)
	for n, end := range s.count {
		if end > start {
			s.groups = append(s.groups, group{pool: t.nodes[n], idx: s.order[start:end]})
		}
		start = end
	}
}

// nodeAddr is addr as reported by the cluster, its host replaced by the
// seed's when it is a loopback or unspecified address: nodes that announce
// 127.0.0.1 (no cluster-announce-ip, a container) are reached at the host
// the client was given, as go-redis does.
func (r *slotRouter) nodeAddr(addr string) string {
	if r.seedHost == "" {
		return addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !(host == "" || loopbackHost(host) || unspecifiedHost(host)) {
		return addr
	}
	return net.JoinHostPort(r.seedHost, port)
}

// loopbackHost reports whether host is a loopback IP address or
// "localhost".
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// unspecifiedHost reports whether host is 0.0.0.0 or ::.
func unspecifiedHost(host string) bool {
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// poolFor returns the pool of the node at addr (as a redirection names it,
// see nodeAddr), creating it if needed, or nil once the router is closed.
func (r *slotRouter) poolFor(addr []byte) *nodePool {
	if r.seedHost != "" {
		addr = []byte(r.nodeAddr(string(addr)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.poolLocked(addr)
}

// poolLocked is poolFor with r.mu held.
func (r *slotRouter) poolLocked(addr []byte) *nodePool {
	if r.closed {
		return nil
	}
	p := r.pools[string(addr)]
	if p == nil {
		p = newNodePool(string(addr), r.nextID, r.cfg)
		r.nextID++
		r.pools[p.addr] = p
	}
	return p
}

// refresh loads the slot map and publishes it as the new table. Pools of
// nodes no longer in it are retired.
func (r *slotRouter) refresh(ctx context.Context) error {
	ranges, err := r.load(ctx)
	if err != nil {
		return fmt.Errorf("loading the cluster slots: %w", err)
	}
	t := &slotTable{}
	for i := range t.slots {
		t.slots[i] = noNode
	}
	owners := make([]*nodePool, len(ranges))

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errPoolClosed
	}
	for i, rg := range ranges {
		if len(rg.Nodes) == 0 || rg.Start < 0 || rg.End >= clusterSlots || rg.Start > rg.End {
			continue
		}
		owners[i] = r.poolLocked([]byte(r.nodeAddr(rg.Nodes[0].Addr))) // the first node is the master
		if !slices.Contains(t.nodes, owners[i]) {
			t.nodes = append(t.nodes, owners[i])
		}
	}
	if len(t.nodes) == 0 {
		return errors.New("the cluster reports no master")
	}
	if len(t.nodes) >= noNode {
		return fmt.Errorf("the cluster reports %d masters", len(t.nodes))
	}
	slices.SortFunc(t.nodes, func(a, b *nodePool) int { return cmp.Compare(a.id, b.id) })
	for i, rg := range ranges {
		if owners[i] == nil {
			continue
		}
		n := uint16(slices.Index(t.nodes, owners[i]))
		for s := rg.Start; s <= rg.End; s++ {
			t.slots[s] = n
		}
	}
	r.retired = slices.DeleteFunc(r.retired, func(p *nodePool) bool { return p.open() == 0 })
	for addr, p := range r.pools {
		if !slices.Contains(t.nodes, p) {
			delete(r.pools, addr)
			p.retire()
			r.retired = append(r.retired, p)
		}
	}
	r.table.Store(t)
	r.refreshes.Add(1)
	return nil
}

// refreshSoon starts a background refresh unless one runs or one started
// less than minRefreshInterval ago. A failed refresh keeps the old table;
// the next trigger tries again.
func (r *slotRouter) refreshSoon() {
	now := time.Now().UnixNano()
	if now-r.lastRefresh.Load() < int64(minRefreshInterval) || !r.refreshing.CompareAndSwap(false, true) {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.refreshing.Store(false)
		return
	}
	r.lastRefresh.Store(now)
	r.bg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.bg.Done()
		defer r.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(r.stop, r.refreshTimeout)
		defer cancel()
		_ = r.refresh(ctx)
	}()
}

// close stops the background refresh and closes every pool.
func (r *slotRouter) close() {
	r.mu.Lock()
	r.closed = true
	pools, retired := r.pools, r.retired
	r.pools, r.retired = nil, nil
	r.mu.Unlock()
	r.cancel()
	for _, p := range pools {
		p.close()
	}
	for _, p := range retired {
		p.close()
	}
	r.bg.Wait()
}

// clusterSlots is the slotRouter's loader: CLUSTER SLOTS through the go-redis
// cluster client (on a master it picks), or else on each master in turn, so
// that one dead master does not stop the refresh.
func (b *Backend) clusterSlots(ctx context.Context) ([]goredis.ClusterSlot, error) {
	slots, err := b.cluster.ClusterSlots(ctx).Result()
	if err == nil && len(slots) > 0 {
		return slots, nil
	}
	masters, merr := b.masters(ctx)
	if merr != nil {
		return nil, errors.Join(err, merr)
	}
	for _, m := range masters {
		cmd := goredis.NewClusterSlotsCmd(ctx, "cluster", "slots")
		if e := m.client.Process(ctx, cmd); e != nil {
			err = errors.Join(err, fmt.Errorf("%s: %w", m.addr, e))
			continue
		}
		if len(cmd.Val()) > 0 {
			return cmd.Val(), nil
		}
	}
	if err == nil {
		err = errors.New("empty CLUSTER SLOTS reply")
	}
	return nil, err
}
