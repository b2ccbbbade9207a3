// Command proxy is the mcdedup ingress gate: it receives frames from
// submitters over UDP (and optionally TCP), drops TxIDs the fleet already
// forwarded, stamps flow HashKey and SeqNum and multicasts each frame to its
// shard group. See package internal/proxy for what it does with each kind
// of frame, and -h for the flags (each has an UPPERCASE env equivalent).
//
// Exit status: 0 after a clean stop (SIGTERM or SIGINT: readiness turns
// 503, traffic drains for at most -drain-timeout), 2 for an invalid flag or
// env value, 1 for a runtime failure such as a socket that cannot be bound.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mcdedup/mcdedup/cache"
	_ "github.com/mcdedup/mcdedup/cache/all" // every backend
	"github.com/mcdedup/mcdedup/internal/logx"
	"github.com/mcdedup/mcdedup/internal/ops"
	"github.com/mcdedup/mcdedup/internal/proxy"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stderr))
}

// run is main with its exit status.
func run(args []string, lookup func(string) (string, bool), stderr io.Writer) int {
	cfg, err := parseFlags(args, lookup, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "proxy: invalid configuration:\n%v\n", err)
		return 2
	}
	log, err := logx.New(stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "proxy: invalid configuration: %v\n", err)
		return 2
	}
	// Signals are caught from here on, so a SIGTERM during start-up also
	// ends in a drain and exit 0 rather than the default abrupt death.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// One spare P for the runtime beside the ingress sockets' hot loops
	// (udpio.SpareP); the worker count is fixed first, as -workers 0 means
	// the GOMAXPROCS of before.
	cfg.opts.Workers = cmp.Or(cfg.opts.Workers, runtime.GOMAXPROCS(0))
	if before, after := udpio.SpareP(cfg.opts.Workers); after != before {
		log.Info("GOMAXPROCS raised to keep a P spare beside the hot loops", "from", before, "to", after,
			"workers", cfg.opts.Workers)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p, err := proxy.New(cfg.opts, proxy.Deps{Registerer: reg, Logger: log})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	var keys *ops.KeyBrowser
	if cfg.opts.DedupCap > 0 && cfg.opts.Backend != nil && cfg.opts.Backend.Backend != cache.BackendNone {
		keys = &ops.KeyBrowser{Lookup: p.Backend}
	}
	srv := ops.New(ops.Options{Addr: cfg.metricsAddr, Gatherer: reg, Ready: p.Ready, Pprof: cfg.pprof, Keys: keys, Logger: log})
	if err := srv.Start(); err != nil {
		p.Close()
		log.Error("cannot start", "err", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		log.Info("stop signal: draining")
		srv.SetDraining()
	}()
	runErr := p.Run(ctx)
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("ops server shutdown", "err", err)
	}
	if runErr != nil {
		log.Error("stopped", "err", runErr)
		return 1
	}
	return 0
}
