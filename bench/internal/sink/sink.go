package sink

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcdedup/mcdedup/bench/internal/rx"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// Summary is the result of a run, printed as JSON by -json.
type Summary struct {
	Counts
	SeqStats
	// KernelDrops counts datagrams the kernel dropped at the sink's socket
	// (receive queue full): loss the sink itself caused.
	KernelDrops uint64 `json:"kernel_drops"`
	// DurationS is the time from the first to the last frame received.
	DurationS float64 `json:"duration_s"`
	// FPS is Frames / DurationS, UniqueFPS UniqueTxIDs / DurationS.
	FPS       float64 `json:"fps"`
	UniqueFPS float64 `json:"unique_fps"`
	// Latency summarises send-to-receive latency in microseconds.
	Latency LatencySummary `json:"latency_us"`
	// StopReason is duration, idle, expect or signal.
	StopReason string `json:"stop_reason"`
}

// LatencySummary holds latency percentiles in microseconds.
type LatencySummary struct {
	Count uint64  `json:"count"` // frames with a send timestamp
	P50   float64 `json:"p50"`   // median
	P90   float64 `json:"p90"`   // 90th percentile
	P99   float64 `json:"p99"`   // 99th percentile
	P999  float64 `json:"p99_9"` // 99.9th percentile
	Max   float64 `json:"max"`   // largest, exact
	Mean  float64 `json:"mean"`  // arithmetic mean
}

// Sink is an opened sink: its socket is bound (and the tap's groups joined)
// by Open, so that Open can run inside a network namespace and Run anywhere.
type Sink struct {
	cfg Config

	mu  sync.Mutex // guards ctr
	ctr *Counter

	udp *udpio.Conn      // ProtoUDP and ProtoMulticast
	tcp *net.TCPListener // ProtoTCP

	connMu sync.Mutex // guards conns
	conns  map[*net.TCPConn]struct{}

	activity atomic.Int64  // Unix ns of the last frame received
	expected chan struct{} // closed once Expect unique TxIDs were seen
	expOnce  sync.Once
	readers  sync.WaitGroup
}

// Open validates cfg and binds the sink's socket.
func Open(cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sink{
		cfg:      cfg,
		ctr:      NewCounter(cfg.MaxTxIDs, cfg.MaxFlows, int(min(cfg.Expect, 1<<24))),
		conns:    make(map[*net.TCPConn]struct{}),
		expected: make(chan struct{}),
	}
	var err error
	switch cfg.Proto {
	case ProtoUDP:
		// Blocking like the multicast tap (fabric.OpenTap): an instrument
		// should not spend the CPU it shares with the pipeline under test
		// on runtime poller wake-ups.
		s.udp, err = udpio.Listen("udp", cfg.Listen, udpio.Options{
			RecvBuffer: cfg.Fabric.RecvBuffer, BatchSize: cfg.Batch, Blocking: true,
		})
	case ProtoTCP:
		var a *net.TCPAddr
		if a, err = net.ResolveTCPAddr("tcp", cfg.Listen); err == nil {
			s.tcp, err = net.ListenTCP("tcp", a)
		}
	default:
		fab := cfg.Fabric
		fab.Batch = cfg.Batch
		s.udp, err = fabric.OpenTap(fab)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Addr returns the bound address (the tap's port for multicast).
func (s *Sink) Addr() string {
	if s.tcp != nil {
		return s.tcp.Addr().String()
	}
	return s.udp.LocalAddr().String()
}

// Counter returns the counter; read it only after Run returned.
func (s *Sink) Counter() *Counter { return s.ctr }

// Close closes the socket and every TCP connection; Run calls it.
func (s *Sink) Close() {
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	s.connMu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
}

// Run receives until Duration, Idle or Expect says stop or ctx ends,
// writing a progress line per second to progress (nil for none), and
// returns the summary.
func (s *Sink) Run(ctx context.Context, progress io.Writer) (Summary, error) {
	start := time.Now()
	if s.tcp != nil {
		s.readers.Go(s.acceptTCP)
	} else {
		s.readers.Go(s.readUDP)
	}
	reason := s.wait(ctx, start, progress)
	s.Close()
	s.readers.Wait()
	return s.summary(reason), nil
}

// wait returns why the run stops, printing progress once a second.
func (s *Sink) wait(ctx context.Context, start time.Time, progress io.Writer) string {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	nextReport := start.Add(time.Second)
	var prevFrames uint64
	for {
		select {
		case <-ctx.Done():
			return "signal"
		case <-s.expected:
			return "expect"
		case now := <-tick.C:
			if now.Sub(start) >= s.cfg.Duration {
				return "duration"
			}
			if last := s.activity.Load(); s.cfg.Idle > 0 && last != 0 && now.UnixNano()-last >= int64(s.cfg.Idle) {
				return "idle"
			}
			if progress != nil && !now.Before(nextReport) {
				prevFrames = s.report(progress, now.Sub(start), prevFrames)
				nextReport = nextReport.Add(time.Second)
			}
		}
	}
}

// report prints one progress line and returns the frame count.
func (s *Sink) report(w io.Writer, elapsed time.Duration, prev uint64) uint64 {
	s.mu.Lock()
	c, q, p99 := s.ctr.Counts(), s.ctr.Seq(), s.ctr.Latency().Quantile(0.99)
	s.mu.Unlock()
	fmt.Fprintf(w, "sink: %5.1fs frames %d (+%d) unique %d dup %d gaps %d lost %d p99 %.0fµs\n",
		elapsed.Seconds(), c.Frames, c.Frames-prev, c.UniqueTxIDs, c.DuplicateTxIDs, q.Gaps, q.Lost, us(p99))
	return c.Frames
}

// noteBatch records activity after a batch and signals Expect.
func (s *Sink) noteBatch(now int64, unique uint64) {
	s.activity.Store(now)
	if s.cfg.Expect > 0 && unique >= s.cfg.Expect {
		s.expOnce.Do(func() { close(s.expected) })
	}
}

// readUDP is the datagram receive loop; its one exit is the socket closing.
func (s *Sink) readUDP() {
	rx.Loop(s.udp, udpio.NewMessages(s.cfg.Batch, maxDatagram), func(batch []udpio.Message) {
		now := time.Now().UnixNano()
		s.mu.Lock()
		for i := range batch {
			m := &batch[i]
			if m.Trunc {
				s.ctr.ObserveTruncated()
			} else {
				s.ctr.Observe(m.Buf[:m.N], now)
			}
		}
		unique := s.ctr.Unique()
		s.mu.Unlock()
		s.noteBatch(now, unique)
	})
}

// summary builds the Summary after the readers stopped.
func (s *Sink) summary(reason string) Summary {
	c := s.ctr
	sum := Summary{Counts: c.Counts(), SeqStats: c.Seq(), StopReason: reason, DurationS: c.Span()}
	if s.udp != nil {
		sum.KernelDrops = s.udp.KernelDrops()
	}
	if sum.DurationS > 0 {
		sum.FPS = float64(sum.Frames) / sum.DurationS
		sum.UniqueFPS = float64(sum.UniqueTxIDs) / sum.DurationS
	}
	h := c.Latency()
	sum.Latency = LatencySummary{
		Count: h.Count(), P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max()), Mean: h.Mean() / 1e3,
	}
	return sum
}
