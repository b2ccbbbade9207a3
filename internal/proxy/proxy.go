package proxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/frame"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/ops"
	"github.com/mcdedup/mcdedup/internal/udpio"
	"github.com/mcdedup/mcdedup/txidset"
)

// Lifecycle states of a Proxy.
const (
	stateBound    int32 = iota // sockets bound, Run not started
	stateRunning               // workers reading
	stateDraining              // ctx ended: no TCP accept, UDP until quiet
	stateClosed                // sockets closed
)

// Proxy is the ingress gate: UDP (and optionally TCP) readers, each a
// worker with its own egress and claim handle, over one shared flow table
// and TxID claim set. New binds the sockets; Run serves until ctx ends and
// then drains; Close stops at once.
type Proxy struct {
	opts Options
	log  *slog.Logger
	core *core
	set  *txidset.Set
	m    *metrics

	udp       []udpio.BatchConn
	workers   []*worker
	tcp       net.Listener // nil without TCP ingress
	newEgress func() (Egress, error)
	source    netip.Addr
	saveState bool // New read Options.StateFile: shutdown writes it

	state    atomic.Int32
	cancel   context.CancelFunc // ends core.claimCtx
	closing  chan struct{}      // closed by Close and shutdown
	closeOne sync.Once          // closes closing
	shutOne  sync.Once          // runs shutdown
	wg       sync.WaitGroup     // UDP readers, TCP acceptor and connections

	// mu guards conns, the open TCP connections that shutdown closes, and
	// orders Run's wg.Add before shutdown's wg.Wait.
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// tcpOpen counts open TCP connections (the limit check).
	tcpOpen atomic.Int64
}

// New validates opts, resolves the flow identity, opens the claim set
// (its backend in the background: a backend that is down makes the proxy
// start degraded, not fail), binds the ingress sockets and opens one egress
// per worker. Errors are configuration or bind errors.
func New(opts Options, deps Deps) (*Proxy, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if deps.Backend != nil && opts.DedupCap > 0 { // a ready backend: its defaults
		opts.Readers = cmp.Or(opts.Readers, DefaultBackendReaders)
		opts.Batch = cmp.Or(opts.Batch, DefaultBackendBatch)
	}
	o := opts.withDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{opts: o, log: log, closing: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	if err := p.initCore(deps); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			p.shutdown()
		}
	}()
	if err := p.bind(deps); err != nil {
		return nil, err
	}
	if o.StateFile != "" {
		// Last, once nothing can fail: a proxy that does not start must
		// leave the file for the next attempt.
		p.loadFlowState()
		p.saveState = true
	}
	ok = true
	log.Info("proxy ready", "udp", p.udp[0].LocalAddr().String(), "workers", len(p.udp), "readers", o.Readers, "tcp", p.TCPAddr(),
		"flow_source", p.source.String(), "shard_bits", o.Fabric.Bits(), "dedup", p.set.State(),
		"frag_mtu", o.FragMTU)
	return p, nil
}

// initCore builds the shared state: identity, group table, flow table,
// claim set and metrics.
func (p *Proxy) initCore(deps Deps) error {
	o := &p.opts
	p.source = o.FlowSource
	if !p.source.IsValid() {
		src, err := DefaultFlowSource(o.Fabric)
		if err != nil {
			return err
		}
		p.source = src
	}
	table, err := o.Fabric.Table()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.core = &core{
		cls: classifier{limits: frame.Limits{MaxPayload: o.MaxPayload}, shardBits: o.Fabric.Bits(),
			acceptControl: o.AcceptControl, fragSize: fragSize(o.FragMTU)},
		table:    table,
		flows:    newFlowTable(frame.SourceID(p.source), o.MaxFlows, int64(o.FlowIdle)),
		log:      p.log,
		epoch:    time.Now(),
		claimCtx: ctx,
		flowIdle: int64(o.FlowIdle),
		sweepGap: int64(min(max(o.FlowIdle/4, 10*time.Millisecond), time.Minute)),
	}
	p.set, err = txidset.New(txidset.Options{
		Capacity: o.DedupCap, TTL: o.DedupTTL, Prefix: o.DedupPrefix,
		Backend: deps.Backend, BackendConfig: o.Backend,
		Registerer: deps.Registerer, Namespace: Namespace, Subsystem: "dedup", Logger: p.log,
	})
	if err != nil {
		return fmt.Errorf("proxy: dedup: %w", err)
	}
	p.m, err = newMetrics(deps.Registerer, p.funcMetrics()...)
	if err != nil {
		p.set.Close()
		return err
	}
	p.core.m = p.m
	p.newEgress = deps.NewEgress
	if p.newEgress == nil {
		fo := o.Fabric
		fo.Batch = outBatch
		p.newEgress = func() (Egress, error) { return fabric.NewEgress(fo) }
	}
	return nil
}

// funcMetrics are the metrics read at scrape time.
func (p *Proxy) funcMetrics() []prometheus.Collector {
	return []prometheus.Collector{
		funcGauge("flows", "Flows in the flow table.", func() float64 { return float64(p.core.flows.len()) }),
		funcCounter("flows_evicted_total", "Flows evicted because the flow table was full.",
			func() float64 { return float64(p.core.flows.evicted.Load()) }),
		funcCounter("flows_expired_total", "Flows removed after -flow-idle without frames.",
			func() float64 { return float64(p.core.flows.expired.Load()) }),
		funcCounter("flows_resumed_total", "Flows evicted by -max-flows and created again within -flow-idle, which continued their SeqNums.",
			func() float64 { return float64(p.core.flows.resumed.Load()) }),
		funcCounter("kernel_drops_total", "Datagrams the kernel dropped on the ingress sockets (SO_RXQ_OVFL).",
			p.kernelDrops),
		funcGauge("ready", "1 while the proxy is ready (what /readyz answers with 200), 0 while starting, draining or, with -require-backend, without its backend.",
			func() float64 {
				if p.Ready().Ready {
					return 1
				}
				return 0
			}),
	}
}

// Backend returns the claim backend in use, or nil when there is none or it
// is down; for the operator key browser (cold path only).
func (p *Proxy) Backend() cache.Backend {
	if p.set == nil {
		return nil
	}
	return p.set.Backend()
}

// kernelDrops sums the ingress sockets' kernel drop counters.
func (p *Proxy) kernelDrops() float64 {
	var n uint64
	for _, c := range p.udp {
		if d, ok := c.(udpio.DropCounter); ok {
			n += d.KernelDrops()
		}
	}
	return float64(n)
}

// bind opens the ingress sockets and, per socket, Readers workers with an
// egress each.
func (p *Proxy) bind(deps Deps) error {
	o := &p.opts
	listen := deps.ListenUDP
	if listen == nil {
		listen = func(addr string, uo udpio.Options) (udpio.BatchConn, error) { return udpio.Listen("udp", addr, uo) }
	}
	addr := o.Listen
	for i := range o.Workers {
		// Blocking: the ingress is read in the hot loop, and the proxy always
		// has poller waiters (ops server, TCP, backend): see package udpio.
		c, err := listen(addr, udpio.Options{
			ReusePort: true, RecvBuffer: o.RecvBuffer, BatchSize: o.Batch, Blocking: true,
		})
		if err != nil {
			return fmt.Errorf("proxy: -listen %s: %w", addr, err)
		}
		p.udp = append(p.udp, c)
		if i == 0 {
			addr = c.LocalAddr().String() // port 0 resolved: the others join it
			if sf, ok := c.(interface{ BufferShortfall() error }); ok {
				if err := sf.BufferShortfall(); err != nil {
					p.log.Warn("ingress receive buffer smaller than asked", "err", err)
				}
			}
		}
		in := &ingress{c: c}
		for r := range o.Readers {
			e, err := p.newEgress()
			if err != nil {
				return fmt.Errorf("proxy: egress: %w", err)
			}
			if sf, ok := e.(interface{ BufferShortfall() error }); ok && i == 0 && r == 0 {
				if err := sf.BufferShortfall(); err != nil {
					p.log.Warn("egress send buffer smaller than asked", "err", err)
				}
			}
			w := p.newWorker(e, o.Batch)
			w.in = in
			p.workers = append(p.workers, w)
		}
	}
	if o.TCPListen != "" {
		ln, err := net.Listen("tcp", o.TCPListen)
		if err != nil {
			return fmt.Errorf("proxy: -tcp-listen %s: %w", o.TCPListen, err)
		}
		p.tcp = ln
	}
	return nil
}

// newWorker returns a worker with its own claim handle over egress e.
func (p *Proxy) newWorker(e Egress, batch int) *worker {
	var cl *txidset.Claimer
	if p.opts.DedupCap > 0 {
		cl = p.set.NewClaimer()
	}
	return newWorker(p.core, cl, e, batch)
}

// UDPAddr returns the bound UDP ingress address.
func (p *Proxy) UDPAddr() netip.AddrPort { return p.udp[0].LocalAddr() }

// TCPAddr returns the bound TCP ingress address, or "" without TCP.
func (p *Proxy) TCPAddr() string {
	if p.tcp == nil {
		return ""
	}
	return p.tcp.Addr().String()
}

// FlowSource returns the flow identity the proxy stamps with.
func (p *Proxy) FlowSource() netip.Addr { return p.source }

// Run serves until ctx ends, then drains (readiness "draining", no new TCP
// connections, UDP processed until the sockets are quiet for DrainQuiet or
// DrainTimeout passes), closes everything and returns nil. Close makes it
// stop at once. Run may be called once.
func (p *Proxy) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.state.Load() != stateBound {
		p.mu.Unlock()
		return errors.New("proxy: Run called twice or after Close")
	}
	p.wg.Add(len(p.workers))
	for _, w := range p.workers {
		go func() { defer p.wg.Done(); p.readUDP(w) }()
	}
	if p.tcp != nil {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.acceptTCP() }()
	}
	p.state.Store(stateRunning)
	p.mu.Unlock()
	select {
	case <-ctx.Done():
		p.drain()
	case <-p.closing:
	}
	p.shutdown()
	p.log.Info("proxy stopped", p.m.totals()...)
	return nil
}

// drain stops TCP accept and lets the UDP readers run until the sockets
// were quiet for DrainQuiet, DrainTimeout passed, or Close was called.
func (p *Proxy) drain() {
	p.state.Store(stateDraining)
	p.log.Info("draining", "timeout", p.opts.DrainTimeout)
	if p.tcp != nil {
		p.tcp.Close()
	}
	deadline := time.NewTimer(p.opts.DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(min(p.opts.DrainQuiet/4, 50*time.Millisecond))
	defer tick.Stop()
	start := p.core.now()
	for {
		select {
		case <-deadline.C:
			p.log.Warn("drain timeout: closing with traffic still arriving")
			return
		case <-p.closing:
			return
		case <-tick.C:
			last := max(p.core.activity.Load(), start)
			if time.Duration(p.core.now()-last) >= p.opts.DrainQuiet {
				return
			}
		}
	}
}

// Close stops the proxy at once: sockets closed, readers unblocked, claim
// set flushed and closed. It is idempotent and safe to call concurrently
// with Run; it returns once everything is closed.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closeOne.Do(func() { close(p.closing) })
	p.mu.Unlock()
	p.shutdown()
	return nil
}

// shutdown closes every socket, waits for the readers, then closes the
// egresses and the claim set. Concurrent and repeated calls return once the
// first has finished.
func (p *Proxy) shutdown() {
	p.shutOne.Do(func() {
		p.mu.Lock()
		p.closeOne.Do(func() { close(p.closing) })
		p.state.Store(stateClosed)
		p.mu.Unlock()
		for _, c := range p.udp {
			c.Close()
		}
		if p.tcp != nil {
			p.tcp.Close()
		}
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait() // readers gone: their egresses are free to close
		for _, w := range p.workers {
			w.egress.Close()
		}
		if p.saveState {
			p.saveFlowState()
		}
		p.cancel()
		if p.set != nil {
			p.set.Close() // flushes queued marks, closes an owned backend
		}
		if p.m != nil {
			p.m.unregister()
		}
	})
}

// Ready reports readiness for /readyz: sockets bound and serving, not
// draining, and, with RequireBackend, the backend up. The body names the
// backend state ("ok", "degraded", "local-only", "disabled"); a degraded
// backend alone leaves the proxy ready (it forwards, failing open).
func (p *Proxy) Ready() ops.Readiness {
	backend := p.set.State()
	r := ops.Readiness{Ready: true, State: "ok", Checks: map[string]string{
		"backend":     backend,
		"udp":         fmt.Sprintf("%d sockets on %s", len(p.udp), p.UDPAddr()),
		"flow_source": p.source.String(),
	}}
	if p.tcp != nil {
		r.Checks["tcp"] = p.tcp.Addr().String()
	}
	if backend == txidset.StateDegraded {
		r.State = "degraded"
		r.Ready = !p.opts.RequireBackend
	}
	switch p.state.Load() {
	case stateBound:
		r.Ready, r.State = false, "starting"
	case stateDraining:
		r.Ready, r.State = false, "draining"
	case stateClosed:
		r.Ready, r.State = false, "stopped"
	}
	return r
}

// loadFlowState resumes the flow numbering saved by the previous run, if
// any; a bad file is logged and ignored (flows then start at SeqNum 1).
func (p *Proxy) loadFlowState() {
	epoch := p.core.epoch.UnixNano()
	n, err := loadFlowState(p.core.flows, p.opts.StateFile, func(wall int64) int64 { return wall - epoch })
	switch {
	case err != nil:
		p.log.Warn("flow state file rejected after the flows read so far: the others start at SeqNum 1",
			"file", p.opts.StateFile, "flows_read", n, "err", err)
	case n > 0:
		p.log.Info("flow state read: flows seen again within -flow-idle continue their SeqNums", "file", p.opts.StateFile, "flows", n)
	}
}

// saveFlowState writes the flow table for the next run.
func (p *Proxy) saveFlowState() {
	epoch := p.core.epoch.UnixNano()
	n, err := saveFlowState(p.core.flows, p.opts.StateFile, func(clock int64) int64 { return epoch + clock })
	if err != nil {
		p.log.Warn("flow state not saved: the next run starts its flows at SeqNum 1", "file", p.opts.StateFile, "err", err)
		return
	}
	p.log.Info("flow state saved", "file", p.opts.StateFile, "flows", n)
}
