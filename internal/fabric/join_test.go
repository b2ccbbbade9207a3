package fabric

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mcdedup/mcdedup/frame"
)

// recorder is a Joiner that records memberships and can refuse the n-th.
type recorder struct {
	joins  []string
	failAt int // 1-based; 0 = never
}

func (r *recorder) join(s string) error {
	if r.failAt > 0 && len(r.joins)+1 == r.failAt {
		return errors.New("refused")
	}
	r.joins = append(r.joins, s)
	return nil
}

func (r *recorder) JoinGroup(g netip.Addr, iface string) error {
	return r.join(fmt.Sprintf("%v@%s", g, iface))
}

func (r *recorder) JoinSourceGroup(g, s netip.Addr, iface string) error {
	return r.join(fmt.Sprintf("(%v,%v)@%s", s, g, iface))
}

func TestJoinShardsASM(t *testing.T) {
	o := Defaults()
	o.ShardBits, o.Ifaces = 12, []string{"a", "b"}
	var r recorder
	if err := JoinShards(&r, o, frame.IdxBlock, frame.IdxBeacon); err != nil {
		t.Fatal(err)
	}
	if want := 2 * (4096 + 2); len(r.joins) != want {
		t.Fatalf("%d joins, want %d", len(r.joins), want)
	}
	for i, want := range map[int]string{0: "ff05::b:0@a", 4095: "ff05::b:fff@a", 4096: "ff05::b:fffe@a", 4097: "ff05::b:fffd@a", 4098: "ff05::b:0@b"} {
		if r.joins[i] != want {
			t.Errorf("join %d = %s, want %s", i, r.joins[i], want)
		}
	}
}

func TestJoinShardsSSM(t *testing.T) {
	o := Defaults()
	o.ShardBits, o.Mode, o.IPv4Base = 1, frame.ModeSSM, netip.MustParseAddr("232.1.0.0")
	var r recorder
	if err := JoinShards(&r, o); !errors.Is(err, ErrNoSources) {
		t.Fatalf("SSM without sources: %v, want ErrNoSources", err)
	}
	o.Sources = []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")}
	if err := JoinShards(&r, o); err != nil {
		t.Fatal(err)
	}
	want := "(10.0.0.1,232.1.0.0)@ (10.0.0.2,232.1.0.0)@ (10.0.0.1,232.1.0.1)@ (10.0.0.2,232.1.0.1)@"
	if got := strings.Join(r.joins, " "); got != want {
		t.Errorf("joins %s, want %s", got, want)
	}
}

func TestJoinShardsErrorSaysHowFar(t *testing.T) {
	o := Defaults()
	o.ShardBits = 3
	r := recorder{failAt: 6}
	err := JoinShards(&r, o)
	if err == nil || !strings.Contains(err.Error(), "ff05::b:5") || !strings.Contains(err.Error(), "5 of 8 joined") {
		t.Errorf("error %v should name group ff05::b:5 and 5 of 8 joined", err)
	}
	o.ShardBits = 13
	if err := JoinShards(&r, o); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid options: %v", err)
	}
}
