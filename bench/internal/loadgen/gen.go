package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Result is the outcome of a run, printed as JSON by -json.
type Result struct {
	// Sent counts datagrams written (every dup-sources copy, and every
	// interface in multicast mode).
	Sent uint64 `json:"sent"`
	// Frames counts frames generated (before dup-sources copies).
	Frames uint64 `json:"frames"`
	// UniqueTxIDs counts frames generated with a fresh TxID.
	UniqueTxIDs uint64 `json:"unique_txids"`
	// DuplicatesSent counts datagrams carrying a TxID sent before: Sent −
	// UniqueTxIDs.
	DuplicatesSent uint64 `json:"duplicates_sent"`
	// Bytes counts the bytes of the datagrams sent.
	Bytes uint64 `json:"bytes"`
	// DurationS is the time from the first send to the end of the last.
	DurationS float64 `json:"duration_s"`
	// RateFPS is Sent / DurationS.
	RateFPS float64 `json:"rate_fps"`
	// SendErrors counts datagrams the kernel refused.
	SendErrors uint64 `json:"send_errors"`
	// SeqHoles counts SeqNums skipped by -skip-every.
	SeqHoles uint64 `json:"seq_holes"`
	// Flows counts stamped flows (0 without -stamp).
	Flows int `json:"flows"`
	// Sockets is the number of sending sockets (senders × dup-sources).
	Sockets int `json:"sockets"`
}

// Gen is an opened generator: sockets bound and buffers allocated, so that
// Open can run inside a network namespace and Run anywhere.
type Gen struct {
	cfg     Config
	senders []*sender
}

// Open validates cfg and opens every sending socket.
func Open(cfg Config) (*Gen, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dst, err := resolve(&cfg)
	if err != nil {
		return nil, err
	}
	g := &Gen{cfg: cfg}
	subtrees := makeSubtrees(cfg.Subtrees, cfg.Seed)
	for i := range cfg.Senders {
		s := newSender(i, &g.cfg, subtrees)
		g.senders = append(g.senders, s)
		for range cfg.DupSources {
			o, err := openOutput(&g.cfg, dst)
			if err != nil {
				g.Close()
				return nil, fmt.Errorf("sender %d: %w", i, err)
			}
			s.outs = append(s.outs, o)
		}
	}
	return g, nil
}

// Close closes every socket.
func (g *Gen) Close() {
	for _, s := range g.senders {
		s.closeOutputs()
	}
}

// Run sends until Duration has passed, Count frames were generated or ctx
// ends, writing a progress line per second to progress (nil for none). It
// returns the totals, and the first fatal socket error of any sender.
func (g *Gen) Run(ctx context.Context, progress io.Writer) (Result, error) {
	start := time.Now()
	deadline := start.Add(g.cfg.Duration)
	w := len(g.senders)
	type span struct {
		first, last time.Time
		err         error
	}
	spans := make([]span, w)
	var wg sync.WaitGroup
	for i, s := range g.senders {
		quota := uint64(0)
		if g.cfg.Count > 0 {
			quota = g.cfg.Count / uint64(w)
			if uint64(i) < g.cfg.Count%uint64(w) {
				quota++
			}
			if quota == 0 {
				continue
			}
		}
		wg.Go(func() {
			sp := &spans[i]
			sp.first, sp.last, sp.err = s.loop(ctx, start, deadline, quota, g.cfg.Rate/float64(w))
		})
	}
	done := make(chan struct{})
	var rwg sync.WaitGroup
	if progress != nil {
		rwg.Go(func() { g.report(progress, start, done) })
	}
	wg.Wait()
	close(done)
	rwg.Wait()

	var first, last time.Time
	var errs []error
	for _, sp := range spans {
		if sp.err != nil {
			errs = append(errs, sp.err)
		}
		if !sp.first.IsZero() && (first.IsZero() || sp.first.Before(first)) {
			first = sp.first
		}
		if sp.last.After(last) {
			last = sp.last
		}
	}
	r := g.totals()
	if !first.IsZero() {
		r.DurationS = last.Sub(first).Seconds()
	}
	if r.DurationS > 0 {
		r.RateFPS = float64(r.Sent) / r.DurationS
	}
	return r, errors.Join(errs...)
}

// totals sums the senders' counters.
func (g *Gen) totals() Result {
	var r Result
	for _, s := range g.senders {
		r.Frames += s.c.frames.Load()
		r.Sent += s.c.sent.Load()
		r.UniqueTxIDs += s.c.unique.Load()
		r.Bytes += s.c.bytes.Load()
		r.SendErrors += s.c.errors.Load()
		r.SeqHoles += s.c.holes.Load()
		r.Flows += len(s.flows)
		r.Sockets += len(s.outs)
	}
	if r.Sent > r.UniqueTxIDs {
		r.DuplicatesSent = r.Sent - r.UniqueTxIDs
	}
	return r
}

// report prints one progress line per second until done is closed.
func (g *Gen) report(w io.Writer, start time.Time, done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var prev uint64
	prevT := start
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			r := g.totals()
			rate := float64(r.Sent-prev) / now.Sub(prevT).Seconds()
			prev, prevT = r.Sent, now
			fmt.Fprintf(w, "loadgen: %5.1fs sent %d (%.0f/s, %.1f MB/s) unique %d dups %d errors %d holes %d\n",
				now.Sub(start).Seconds(), r.Sent, rate, rate*float64(r.Bytes)/float64(max(r.Sent, 1))/1e6,
				r.UniqueTxIDs, r.DuplicatesSent, r.SendErrors, r.SeqHoles)
		}
	}
}

// loop is one sender's traffic loop, bounded by deadline, quota (0 = none)
// and ctx. With rate > 0 it paces at batch granularity: each wake-up sends
// every frame due by then (at most a batch), then sleeps until the next one
// is due. It returns the times of its first and last send.
func (s *sender) loop(ctx context.Context, start, deadline time.Time, quota uint64, rate float64) (first, last time.Time, err error) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for ctx.Err() == nil {
		if quota > 0 && s.made >= quota {
			break
		}
		now := time.Now()
		if !now.Before(deadline) {
			break
		}
		n := uint64(s.cfg.Batch)
		if quota > 0 {
			n = min(n, quota-s.made)
		}
		if rate > 0 {
			allowed := uint64(now.Sub(start).Seconds()*rate) + 1
			if allowed <= s.made {
				wake := min(float64(s.made)/rate, deadline.Sub(start).Seconds())
				timer.Reset(start.Add(time.Duration(wake * 1e9)).Sub(now))
				select {
				case <-timer.C:
				case <-ctx.Done():
					timer.Stop()
				}
				continue
			}
			n = min(n, allowed-s.made)
		}
		fresh, size := s.build(int(n))
		now = time.Now()
		if first.IsZero() {
			first = now
		}
		s.stampTimes(int(n), now.UnixNano())
		sentBefore := s.c.sent.Load()
		err = s.sendBatch(int(n))
		last = time.Now()
		s.c.frames.Add(n)
		s.c.unique.Add(fresh)
		s.c.bytes.Add(size * (s.c.sent.Load() - sentBefore) / n)
		if err != nil {
			return first, last, fmt.Errorf("sender %d: %w", s.id, err)
		}
	}
	return first, last, nil
}
