package proxy

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// sendAll sends frames[k] for every k in order over the given senders,
// round-robin by batches of 32, pacing against the proxies.
func sendAll(t *testing.T, lps []*liveProxy, senders []*sender, order []uint64, build func(uint64) []byte) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, len(senders))
	const batch = 32
	chunks := make([][]uint64, len(senders))
	for k := 0; k < len(order); k += batch {
		s := (k / batch) % len(senders)
		chunks[s] = append(chunks[s], order[k:min(k+batch, len(order))]...)
	}
	var mu sync.Mutex
	sent := 0
	for si, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := chunks[si]
			ds := make([][]byte, 0, batch)
			for k := 0; k < len(mine); k += batch {
				ds = ds[:0]
				for _, i := range mine[k:min(k+batch, len(mine))] {
					ds = append(ds, build(i))
				}
				if err := s.send(ds); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				sent += len(ds)
				n := sent
				mu.Unlock()
				pace(t, lps, n, 2048, deadline)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send: %v", err)
	}
}

// e2eSetup starts a tap and a proxy on a fresh loopback fabric, with n
// senders aimed at the proxy.
func e2eSetup(t *testing.T, n int) (*tap, *liveProxy, []*sender) {
	fab := e2eFabric(t)
	tp := openTap(t, fab)
	lp := startProxy(t, e2eOptions(t, fab), Deps{})
	senders := make([]*sender, n)
	for i := range senders {
		senders[i] = newSender(t, lp.UDPAddr())
	}
	return tp, lp, senders
}

// TestEndToEndStampingIPv4 sends 200,000 unique frames from 4 senders
// through a real proxy on loopback multicast and checks every forwarded
// frame against its input (PROTOCOL §2 stamping, BRC-129 routing).
func TestEndToEndStampingIPv4(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	tp, lp, senders := e2eSetup(t, 4)
	order := make([]uint64, n)
	for i := range order {
		order[i] = uint64(i)
	}
	sendAll(t, []*liveProxy{lp}, senders, order, e2eFrame)
	got := tp.wait(t, n, 60*time.Second)
	seen := checkStamped(t, got, flowKeys(lp.FlowSource()))
	if len(seen) != n {
		t.Fatalf("%d distinct frames of %d", len(seen), n)
	}
	if f := lp.counter(lp.m.forwarded); f != float64(n) {
		t.Errorf("forwarded_total %v, want %d", f, n)
	}
	if k := lp.kernelDrops(); k != 0 {
		t.Errorf("kernel drops %v", k)
	}
}

// TestEndToEndDuplicatesIPv4 sends every unique TxID once and half of the
// traffic again as duplicates from three sources (loadgen -dup-ratio 0.5
// -dup-sources 3): the tap must see every unique TxID exactly once.
func TestEndToEndDuplicatesIPv4(t *testing.T) {
	uniques := 30_000
	if testing.Short() {
		uniques = 5_000
	}
	tp, lp, senders := e2eSetup(t, 3)
	rng := rand.New(rand.NewPCG(1, 2))
	var order []uint64
	for i := range uniques {
		order = append(order, uint64(i))
		if i > 0 {
			order = append(order, uint64(rng.IntN(i+1))) // a duplicate of an earlier or this TxID
		}
	}
	sendAll(t, []*liveProxy{lp}, senders, order, e2eFrame)
	got := tp.wait(t, uniques, 60*time.Second)
	seen := checkStamped(t, got, flowKeys(lp.FlowSource()))
	if len(seen) != uniques || len(got) != uniques {
		t.Fatalf("tap got %d datagrams, %d distinct, want %d", len(got), len(seen), uniques)
	}
	if d := lp.counter(lp.m.deduplicated); d != float64(len(order)-uniques) {
		t.Errorf("deduplicated_total %v, want %d", d, len(order)-uniques)
	}
}

// loopbackSource2 is a second flow identity for two proxies on one host.
var loopbackSource2 = netip.MustParseAddr("127.0.0.2")
