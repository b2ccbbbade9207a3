// Package ops is the one HTTP server of each binary: Prometheus /metrics,
// liveness /healthz, readiness /readyz, /debug/pprof/ behind a flag, and the
// operator key browser GET /v1/keys over a cache.Lister.
//
// Nothing here is on the packet path; handlers only read state that the
// packet path publishes through atomics and metrics.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness is what /readyz reports. Ready false answers 503.
type Readiness struct {
	// Ready is the verdict: true answers 200, false 503.
	Ready bool `json:"ready"`
	// State is a one-word summary such as "ok", "degraded" or "draining".
	State string `json:"state"`
	// Checks holds named details (for example "backend": "down").
	Checks map[string]string `json:"checks,omitempty"`
}

// Options configure a Server. Zero values are usable except Addr.
type Options struct {
	// Addr is the listen address, for example ":9310". Empty disables the
	// server (Start returns nil and does nothing).
	Addr string
	// Gatherer serves /metrics (nil = prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
	// Ready computes /readyz (nil = always ready).
	Ready func() Readiness
	// Pprof mounts /debug/pprof/.
	Pprof bool
	// Keys serves GET /v1/keys (nil answers 501).
	Keys *KeyBrowser
	// Logger receives state changes (nil = slog.Default()).
	Logger *slog.Logger
}

// Server is the operations HTTP server.
type Server struct {
	opts     Options
	srv      *http.Server
	addr     atomic.Value // net.Addr once listening
	draining atomic.Bool
}

// New builds a Server; Start binds it.
func New(opts Options) *Server {
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.DefaultGatherer
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       5 * time.Second,
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", s.serveReady)
	if opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/v1/keys", opts.Keys)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second, // pprof profiles stream for up to 30 s by default
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	return s
}

// Start binds the listen address and serves in the background. A bind error
// is returned (a binary treats it as a startup error).
func (s *Server) Start() error {
	if s.opts.Addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("ops: listen %s: %w", s.opts.Addr, err)
	}
	s.addr.Store(ln.Addr())
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error("ops server stopped", "err", err)
		}
	}()
	s.opts.Logger.Info("ops server listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address (nil before Start or when disabled).
func (s *Server) Addr() net.Addr {
	a, _ := s.addr.Load().(net.Addr)
	return a
}

// SetDraining makes /readyz answer 503 "draining" from now on, so load
// balancers and orchestrators stop sending traffic before shutdown.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Shutdown stops the server, waiting for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.opts.Addr == "" {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

func (s *Server) readiness() Readiness {
	r := Readiness{Ready: true, State: "ok"}
	if s.opts.Ready != nil {
		r = s.opts.Ready()
	}
	if s.draining.Load() {
		r.Ready = false
		r.State = "draining"
	}
	return r
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	r := s.readiness()
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, r)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
