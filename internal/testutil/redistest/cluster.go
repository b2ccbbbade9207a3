package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcdedup/mcdedup/internal/systest"
)

// Cluster bounds.
const (
	// MinMasters is the smallest cluster redis-cli --cluster create builds.
	MinMasters = 3
	// clusterSlots is the number of hash slots of a Redis Cluster.
	clusterSlots = 16384
	// DefaultClusterTimeout bounds cluster creation and WaitOK.
	DefaultClusterTimeout = 60 * time.Second
)

// Cluster is a Redis Cluster of masters without replicas, each a Server on
// loopback ports (client port and cluster bus port), all stopped when the
// test ends.
type Cluster struct {
	t     testing.TB
	nodes []*Server
}

// StartCluster starts masters redis-server processes in cluster mode (each
// with --cluster-enabled yes and its nodes.conf in its own directory), joins
// them with "redis-cli --cluster create … --cluster-replicas 0
// --cluster-yes", and waits until every node reports cluster_state:ok with
// all 16384 slots covered and every other node known. masters must be at
// least MinMasters. Missing redis-server or redis-cli skips the test (or fails
// it under REQUIRE_SYSTEM_TESTS=1). opts apply to every node.
func StartCluster(t testing.TB, masters int, opts ...Option) *Cluster {
	t.Helper()
	bin := systest.Command(t, "redis-server", "redis-cli")
	if masters < MinMasters {
		t.Fatalf("redistest: a cluster needs at least %d masters, got %d", MinMasters, masters)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redistest: %v", err) // systest.Command checked it
	}
	c := &Cluster{t: t}
	for range masters {
		c.nodes = append(c.nodes, start(t, bin, modeCluster, "", opts))
	}

	ctx, cancel := context.WithTimeout(context.Background(), DefaultClusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	return c
}

// Addrs returns the "127.0.0.1:port" address of every node, the seed list
// for a cluster client.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Nodes returns the cluster's servers, to Kill, Restart or Freeze one.
func (c *Cluster) Nodes() []*Server { return c.nodes }

// WaitOK waits until every running node reports cluster_state:ok, all slots
// assigned and ok, and knows every node of the cluster; it fails the test
// after DefaultClusterTimeout. Use it after restarting a node.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(DefaultClusterTimeout)
	for {
		bad := c.notOK()
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("redistest: cluster not ok within %v: %s", DefaultClusterTimeout, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// notOK returns why the cluster is not ready yet, or "" when it is.
func (c *Cluster) notOK() string {
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": strconv.Itoa(clusterSlots),
		"cluster_slots_ok":       strconv.Itoa(clusterSlots),
		"cluster_known_nodes":    strconv.Itoa(len(c.nodes)),
	}
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		info, err := n.Do("CLUSTER", "INFO")
		if err != nil {
			return fmt.Sprintf("%s: CLUSTER INFO: %v", n.Addr(), err)
		}
		got := parseInfo(info)
		for k, v := range want {
			if got[k] != v {
				return fmt.Sprintf("%s: %s=%q, want %q", n.Addr(), k, got[k], v)
			}
		}
	}
	return ""
}

// parseInfo parses "key:value" lines of an INFO or CLUSTER INFO reply.
func parseInfo(s string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			m[k] = v
		}
	}
	return m
}
