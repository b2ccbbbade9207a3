package redis

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/testutil/redistest"
)

// Cluster routing of the fast path: slot table, MOVED and ASK. Keys spanning
// every master and a killed master are covered by
// TestClusterBatchAndListSpanMasters and TestClusterMasterKilled, which run
// on the fast path.

// scramble publishes a stale slot table in which every slot points at the
// next master: every key goes first to a node that does not own it.
func (r *slotRouter) scramble() {
	old := r.table.Load()
	t := &slotTable{nodes: old.nodes}
	for s, n := range old.slots {
		t.slots[s] = uint16((int(n) + 1) % len(old.nodes))
	}
	r.table.Store(t)
}

// sameOwners reports whether two tables map every slot to the same address.
func sameOwners(a, b *slotTable) bool {
	for s := range a.slots {
		if a.nodes[a.slots[s]].addr != b.nodes[b.slots[s]].addr {
			return false
		}
	}
	return true
}

// TestClusterMovedStaleMap: with a stale slot table every op of a batch is
// refused with MOVED and re-sent once to its owner, where it executes once;
// then the table is refreshed in the background and batches go straight to
// the owners.
func TestClusterMovedStaleMap(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	b := newBackend(t, c.Addrs(), true)
	r := b.fast.cluster
	truth := r.table.Load()
	refreshes := r.refreshes.Load()
	r.scramble()

	const n = 64
	ops := distinctOps("moved", 0, n)
	if err := b.SetNXBatch(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
	for i, op := range ops {
		if op.Err != nil || !op.Created {
			t.Fatalf("op %d: Created %v, Err %v", i, op.Created, op.Err)
		}
	}
	if got := b.fast.redirected.Load(); got != n {
		t.Fatalf("%d ops redirected, want every one of %d", got, n)
	}
	// Each key is on its owner, and only there.
	onNode := map[string]string{}
	for _, node := range c.Nodes() {
		for k := range keysOn(t, node, "moved:*") {
			if prev, dup := onNode[k]; dup {
				t.Fatalf("%q on %s and %s", k, prev, node.Addr())
			}
			onNode[k] = node.Addr()
		}
	}
	for _, op := range ops {
		if owner := truth.nodes[truth.slots[keySlot(op.Key)]].addr; onNode[string(op.Key)] != owner {
			t.Fatalf("%q on %q, owner %s", op.Key, onNode[string(op.Key)], owner)
		}
	}

	deadline := time.Now().Add(10 * time.Second)
	for r.refreshes.Load() == refreshes || !sameOwners(r.table.Load(), truth) {
		if time.Now().After(deadline) {
			t.Fatal("the slot table was not refreshed after MOVED")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := b.fast.redirected.Load()
	wantAligned(t, b, "moved-after", 0)
	if got := b.fast.redirected.Load(); got != before {
		t.Fatalf("%d redirections after the refresh", got-before)
	}

	// GetBatch and SetBatch follow MOVED too.
	r.scramble()
	wantAligned(t, b, "moved-again", 0)
}

// TestClusterAsk: during a slot migration the source master answers ASK for
// keys it no longer holds; those ops go to the importing master with
// ASKING, once, while keys still on the source are served there.
func TestClusterAsk(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	b := newBackend(t, c.Addrs(), true)
	ctx := t.Context()
	key := func(name string) []byte { return []byte("ask:{migrating}:" + name) }
	slot := keySlot(key("x"))
	byAddr := map[string]*redistest.Server{}
	for _, n := range c.Nodes() {
		byAddr[n.Addr()] = n
	}
	t0 := b.fast.cluster.table.Load()
	src := byAddr[t0.nodes[t0.slots[slot]].addr]
	var dst *redistest.Server
	for _, n := range c.Nodes() {
		if n != src {
			dst = n
			break
		}
	}
	if err := b.SetBatch(ctx, []cache.Op{{Key: key("old"), Val: []byte("old")}}); err != nil {
		t.Fatal(err)
	}
	id := func(s *redistest.Server) string {
		v, err := s.Do("CLUSTER", "MYID")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	s := strconv.Itoa(int(slot))
	if _, err := dst.Do("CLUSTER", "SETSLOT", s, "IMPORTING", id(src)); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Do("CLUSTER", "SETSLOT", s, "MIGRATING", id(dst)); err != nil {
		t.Fatal(err)
	}

	ops := []cache.Op{
		{Key: key("new-1"), Val: []byte("v1"), TTL: time.Hour},
		{Key: key("old"), Val: []byte("x"), TTL: time.Hour},
		{Key: key("new-2"), Val: []byte("v2"), TTL: time.Hour},
	}
	if err := b.SetNXBatch(ctx, ops); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true} {
		if ops[i].Err != nil || ops[i].Created != want {
			t.Fatalf("op %d (%q): Created %v, Err %v; want %v", i, ops[i].Key, ops[i].Created, ops[i].Err, want)
		}
	}
	if got := b.fast.redirected.Load(); got != 2 {
		t.Fatalf("%d ops redirected, want the 2 new keys", got)
	}
	if k := keysOn(t, dst, "ask:*"); len(k) != 2 || !k[string(key("new-1"))] || !k[string(key("new-2"))] {
		t.Fatalf("keys on the importing master: %v", k)
	}
	if k := keysOn(t, src, "ask:*"); len(k) != 1 || !k[string(key("old"))] {
		t.Fatalf("keys on the migrating master: %v", k)
	}

	get := []cache.Op{{Key: key("new-1")}, {Key: key("old")}, {Key: key("new-2")}, {Key: key("missing")}}
	if err := b.GetBatch(ctx, get); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"v1", "old", "v2", ""} {
		if get[i].Err != nil || string(get[i].Val) != want || (want == "") != (get[i].Val == nil) {
			t.Errorf("GET %q = %q, %v; want %q", get[i].Key, get[i].Val, get[i].Err, want)
		}
	}
}

// TestClusterRedirectFollowedOnce: in the round that re-sends redirected
// ops, a MOVED reply is not followed again: the op fails with it. (A healthy
// cluster never redirects twice, so the round is driven directly: a scratch
// with ASK flags is a redirect round.)
func TestClusterRedirectFollowedOnce(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	b := newBackend(t, c.Addrs(), true)
	r := b.fast.cluster
	r.scramble()
	ops := distinctOps("once", 0, 8)
	s := &batchScratch{ask: make([]bool, len(ops)), order: make([]int32, len(ops))}
	r.route(ops, s)
	b.fast.exec(t.Context(), opSetNX, ops, s, time.Now().Add(testOpTimeout))
	if len(s.moves) != 0 {
		t.Fatalf("%d ops to re-send in a redirect round", len(s.moves))
	}
	for i, op := range ops {
		if se, ok := op.Err.(ServerError); !ok || string(se[:6]) != "MOVED " || op.Created {
			t.Fatalf("op %d in a redirect round: Created %v, Err %v; want the MOVED error", i, op.Created, op.Err)
		}
	}
}

// TestSlotRouterRefresh drives the router with a fake CLUSTER SLOTS: ops are
// grouped by master in a fixed order, keeping batch order within a node;
// keys of unserved slots fail alone; a master that leaves the map has its
// pool retired; a failed load keeps the table.
func TestSlotRouterRefresh(t *testing.T) {
	// The router also refreshes in the background (route triggers it for
	// unserved slots), so the fake's answer is guarded.
	var (
		mu     sync.Mutex
		ranges []goredis.ClusterSlot
		fail   error
	)
	set := func(rs []goredis.ClusterSlot, err error) {
		mu.Lock()
		defer mu.Unlock()
		ranges, fail = rs, err
	}
	r := newSlotRouter(&poolConfig{size: 1}, "127.0.0.1:7000", time.Second, func(context.Context) ([]goredis.ClusterSlot, error) {
		mu.Lock()
		defer mu.Unlock()
		return ranges, fail
	})
	defer r.close()
	node := func(addr string) []goredis.ClusterNode { return []goredis.ClusterNode{{Addr: addr}} }
	set([]goredis.ClusterSlot{{Start: 8192, End: 16383, Nodes: node("b:1")}, {Start: 0, End: 8191, Nodes: node("a:1")}}, nil)
	if err := r.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}

	ops := make([]cache.Op, 200)
	for i := range ops {
		ops[i].Key = []byte("route:" + strconv.Itoa(i))
	}
	s := &batchScratch{order: make([]int32, len(ops))}
	r.route(ops, s)
	if len(s.groups) != 2 || s.groups[0].pool.id > s.groups[1].pool.id {
		t.Fatalf("%d groups, want 2 in pool id order", len(s.groups))
	}
	seen := 0
	for _, g := range s.groups {
		if !slices.IsSorted(g.idx) {
			t.Errorf("%s: ops out of batch order: %v", g.pool.addr, g.idx)
		}
		for _, i := range g.idx {
			want := "a:1"
			if keySlot(ops[i].Key) >= 8192 {
				want = "b:1"
			}
			if g.pool.addr != want {
				t.Errorf("%q (slot %d) routed to %s", ops[i].Key, keySlot(ops[i].Key), g.pool.addr)
			}
		}
		seen += len(g.idx)
	}
	if seen != len(ops) {
		t.Fatalf("%d of %d ops routed", seen, len(ops))
	}

	a := r.pools["a:1"]
	set([]goredis.ClusterSlot{{Start: 8192, End: 16383, Nodes: node("b:1")}}, nil)
	if err := r.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r.pools["a:1"] != nil || !a.retired {
		t.Fatal("the pool of a master that left the map is not retired")
	}
	s = &batchScratch{order: make([]int32, len(ops))}
	r.route(ops, s)
	for i := range ops {
		if unserved := keySlot(ops[i].Key) < 8192; unserved != errors.Is(ops[i].Err, errNoSlotOwner) {
			t.Fatalf("%q (slot %d): Err %v", ops[i].Key, keySlot(ops[i].Key), ops[i].Err)
		}
	}

	r.bg.Wait() // the refresh the unserved slots triggered must not race the checks below
	set(nil, errors.New("boom"))
	before := r.table.Load()
	if err := r.refresh(t.Context()); err == nil || r.table.Load() != before {
		t.Fatalf("a failed load: %v, table replaced %v", err, r.table.Load() != before)
	}
	set(nil, nil)
	if err := r.refresh(t.Context()); err == nil {
		t.Fatal("an empty slot map was accepted")
	}
}

// TestClusterMasterFrozen: one master of three hangs (SIGSTOP: connected,
// silent). A batch across all slots fails only that master's ops; the
// masters read after it still deliver their replies. Each master is frozen
// in turn, so the hung one is read first, in the middle and last.
func TestClusterMasterFrozen(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	b := newBackend(t, c.Addrs(), true, func(o *Options) { o.OpTimeout = 300 * time.Millisecond })
	ctx := t.Context()
	const n = 90
	ops := storedOps(t, b, "frozen", n)
	for _, victim := range c.Nodes() {
		onVictim := keysOn(t, victim, "frozen:*")
		if len(onVictim) == 0 || len(onVictim) == n {
			t.Fatalf("%d of %d keys on %s: want a spread", len(onVictim), n, victim.Addr())
		}
		victim.Freeze()
		err := b.SetNXBatch(ctx, ops)
		victim.Thaw()
		if err != nil {
			t.Errorf("%s frozen: SetNXBatch returned %v, want per-op errors only", victim.Addr(), err)
		}
		for _, op := range ops {
			if hung := onVictim[string(op.Key)]; hung != (op.Err != nil) {
				t.Errorf("%s frozen: %q: Err = %v, on the frozen master: %v", victim.Addr(), op.Key, op.Err, hung)
			}
			if op.Err == nil && op.Created {
				t.Errorf("%q: Created on an existing key", op.Key)
			}
		}
		c.WaitOK()
		waitAllWork(t, b)
	}
}

// TestSlotRouterLoopbackNodes: a cluster whose nodes announce a loopback
// or unspecified address (no cluster-announce-ip, a container) is reached
// at the seed's host, in the slot table and in redirections; a loopback
// seed (everything on one host) keeps the addresses as reported.
func TestSlotRouterLoopbackNodes(t *testing.T) {
	for _, tc := range []struct {
		seed, reported, want string
	}{
		{"10.1.2.3:7000", "127.0.0.1:7001", "10.1.2.3:7001"},
		{"10.1.2.3:7000", "0.0.0.0:7001", "10.1.2.3:7001"},
		{"10.1.2.3:7000", "[::1]:7001", "10.1.2.3:7001"},
		{"10.1.2.3:7000", ":7001", "10.1.2.3:7001"},
		{"10.1.2.3:7000", "localhost:7001", "10.1.2.3:7001"},
		{"redis.example:7000", "127.0.0.1:7001", "redis.example:7001"},
		{"[fd00::5]:7000", "127.0.0.1:7001", "[fd00::5]:7001"},
		{"10.1.2.3:7000", "10.9.9.9:7001", "10.9.9.9:7001"},    // a routable address stays
		{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7001"}, // loopback seed: as reported
		{"localhost:7000", "127.0.0.1:7001", "127.0.0.1:7001"},
	} {
		r := newSlotRouter(&poolConfig{size: 1}, tc.seed, time.Second, func(context.Context) ([]goredis.ClusterSlot, error) {
			return []goredis.ClusterSlot{{Start: 0, End: clusterSlots - 1, Nodes: []goredis.ClusterNode{{Addr: tc.reported}}}}, nil
		})
		if err := r.refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := r.table.Load().nodes[0].addr; got != tc.want {
			t.Errorf("seed %s, CLUSTER SLOTS %s: master at %s, want %s", tc.seed, tc.reported, got, tc.want)
		}
		if got := r.poolFor([]byte(tc.reported)).addr; got != tc.want {
			t.Errorf("seed %s, MOVED to %s: pool at %s, want %s", tc.seed, tc.reported, got, tc.want)
		}
		r.close()
	}
}
