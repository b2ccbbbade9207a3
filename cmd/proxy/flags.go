package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/mcdedup/mcdedup/cache"
	"github.com/mcdedup/mcdedup/internal/envflag"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/proxy"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

// DefaultMetricsAddr is the ops server address: port 9725 ("87 25" like the
// ingress port 8725), clear of node_exporter (9100), the reference
// implementation's 9100/9200/9400 and Prometheus' own 9090–9094.
const DefaultMetricsAddr = ":9725"

// config is everything the flags set.
type config struct {
	opts        proxy.Options
	metricsAddr string
	pprof       bool
	logFormat   string
	logLevel    string
}

// flagGroups orders the -h listing; flags not named here are listed under
// "other".
var flagGroups = []struct {
	title string
	match func(name string) bool
}{
	{"ingress", among("listen", "workers", "readers", "batch", "max-datagram", "max-payload", "rcvbuf",
		"tcp-listen", "tcp-read-timeout", "tcp-idle-timeout", "tcp-max-conns")},
	{"routing and stamping", among("iface", "egress-port", "shard-bits", "scope", "source-mode", "mc-group-id",
		"ipv4-group-base", "mc-hops", "mc-loop", "sndbuf", "bind-source", "ssm-sources",
		"flow-source", "frag-mtu", "accept-control", "max-flows", "flow-idle", "state-file")},
	{"dedup", among("dedup-local-cap", "dedup-ttl", "dedup-prefix", "require-backend")},
	{"backend (dedup claims, env DEDUP_*)", func(n string) bool { return strings.HasPrefix(n, "dedup-") }},
	{"operations", among("metrics-addr", "pprof", "log-format", "log-level", "drain-timeout", "drain-quiet")},
}

func among(names ...string) func(string) bool {
	return func(n string) bool {
		for _, m := range names {
			if m == n {
				return true
			}
		}
		return false
	}
}

// parseFlags parses args (with env equivalents) into a validated config.
// Errors name the flag and its env var; flag.ErrHelp is returned for -h.
func parseFlags(args []string, lookup func(string) (string, bool), out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(out)
	ef := envflag.NewLookup(fs, lookup)
	env := func(name string) string { return envflag.EnvName("", name) }
	c := &config{}
	o := &c.opts
	ef.StringVar(&o.Listen, "listen", env("listen"), proxy.DefaultListen, "UDP ingress address")
	ef.IntVar(&o.Workers, "workers", env("workers"), 0, "UDP ingress sockets (SO_REUSEPORT), each read by -readers workers (0 = GOMAXPROCS); GOMAXPROCS is then raised to workers+1 unless set in the environment")
	ef.IntVar(&o.Readers, "readers", env("readers"), 0,
		fmt.Sprintf("workers taking turns on each socket, to overlap backend round trips (0 = 1, or %d with a backend)", proxy.DefaultBackendReaders))
	ef.IntVar(&o.Batch, "batch", env("batch"), 0, fmt.Sprintf("datagrams per recvmmsg and claims per round trip, up to %d (0 = %d, or %d with a backend)",
		proxy.MaxBatch, udpio.DefaultBatch, proxy.DefaultBackendBatch))
	ef.IntVar(&o.MaxDatagram, "max-datagram", env("max-datagram"), proxy.DefaultMaxDatagram,
		"receive buffer per datagram in bytes; longer datagrams are dropped as truncated")
	ef.IntVar(&o.MaxPayload, "max-payload", env("max-payload"), 10<<20, "largest accepted PayloadLen, checked before a TCP reader allocates")
	ef.StringVar(&o.TCPListen, "tcp-listen", env("tcp-listen"), "", "TCP ingress address, length-delimited frames (empty = off)")
	ef.DurationVar(&o.TCPReadTimeout, "tcp-read-timeout", env("tcp-read-timeout"), proxy.DefaultTCPReadTimeout,
		"time allowed for one TCP frame to arrive, from its first byte")
	ef.DurationVar(&o.TCPIdleTimeout, "tcp-idle-timeout", env("tcp-idle-timeout"), proxy.DefaultTCPIdleTimeout,
		"close a TCP connection on which no frame starts for this long")
	ef.IntVar(&o.TCPMaxConns, "tcp-max-conns", env("tcp-max-conns"), proxy.DefaultTCPMaxConns,
		"open TCP connections allowed; more are closed at once")
	fab := fabric.RegisterFlags(ef, "")
	flowSource := ef.String("flow-source", env("flow-source"), "",
		"flow identity (HashKey source), unique per proxy (empty = primary address of the first -iface)")
	ef.IntVar(&o.FragMTU, "frag-mtu", env("frag-mtu"), proxy.DefaultFragMTU, "path MTU for BRC-130 fragmentation, ≥ 1280 (0 = off)")
	ef.BoolVar(&o.AcceptControl, "accept-control", env("accept-control"), false,
		"admit V4 block and V5 subtree frames (privileged lane)")
	ef.IntVar(&o.MaxFlows, "max-flows", env("max-flows"), proxy.DefaultMaxFlows, "flow table bound (LRU eviction; an evicted flow created again within -flow-idle continues its SeqNums)")
	ef.DurationVar(&o.FlowIdle, "flow-idle", env("flow-idle"), proxy.DefaultFlowIdle, "expire flows unused this long")
	ef.StringVar(&o.StateFile, "state-file", env("state-file"), "",
		"save the flow table here at shutdown and resume it at start, so SeqNums continue across restarts (empty: off)")
	ef.IntVar(&o.DedupCap, "dedup-local-cap", env("dedup-local-cap"), proxy.DefaultDedupCap, "tier-1 TxIDs held (0 = dedup off)")
	ef.DurationVar(&o.DedupTTL, "dedup-ttl", env("dedup-ttl"), 10*time.Minute, "claim lifetime")
	ef.StringVar(&o.DedupPrefix, "dedup-prefix", env("dedup-prefix"), proxy.DefaultDedupPrefix, "backend claim key prefix")
	ef.BoolVar(&o.RequireBackend, "require-backend", env("require-backend"), false, "/readyz fails while the backend is down")
	def := cache.FlagDefaults()
	def.Backend = cache.BackendNone
	backend := cache.RegisterFlagsDefaults(fs, "dedup-", "DEDUP_", def)
	ef.StringVar(&c.metricsAddr, "metrics-addr", env("metrics-addr"), DefaultMetricsAddr,
		"ops HTTP address: /metrics, /healthz, /readyz (empty = off)")
	ef.BoolVar(&c.pprof, "pprof", env("pprof"), false, "serve /debug/pprof/ on -metrics-addr")
	ef.StringVar(&c.logFormat, "log-format", env("log-format"), "text", "log format: text or json")
	ef.StringVar(&c.logLevel, "log-level", env("log-level"), "info", "log level: debug, info, warn or error")
	ef.DurationVar(&o.DrainTimeout, "drain-timeout", env("drain-timeout"), proxy.DefaultDrainTimeout,
		"on SIGTERM, process in-flight traffic for at most this long")
	ef.DurationVar(&o.DrainQuiet, "drain-quiet", env("drain-quiet"), proxy.DefaultDrainQuiet,
		"on SIGTERM, stop early once no datagram arrived for this long")
	fs.Usage = func() { usage(fs) }

	if err := ef.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var errs []error
	if err := backend.Validate(); err != nil {
		errs = append(errs, err)
	}
	if *flowSource != "" {
		a, err := netip.ParseAddr(*flowSource)
		if err != nil {
			errs = append(errs, fmt.Errorf("-flow-source (env %s) = %q: not an IP address", env("flow-source"), *flowSource))
		}
		o.FlowSource = a.Unmap()
	}
	o.Fabric = *fab
	o.Fabric.RecvBuffer = 0 // RecvBuffer is the ingress socket's (o.RecvBuffer); fabric joins nothing here
	o.RecvBuffer = fab.RecvBuffer
	o.Backend = backend
	if err := o.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// usage prints the flags grouped.
func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: proxy [flags]\n\nThe mcdedup ingress gate: dedups TxIDs fleet-wide, stamps flow HashKey/SeqNum\nand multicasts frames to their shard groups. Every flag has the env var shown.\n")
	done := map[string]bool{}
	for _, g := range flagGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		fs.VisitAll(func(f *flag.Flag) {
			if !done[f.Name] && g.match(f.Name) {
				done[f.Name] = true
				printFlag(w, f)
			}
		})
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if !done[f.Name] {
			if first {
				fmt.Fprintf(w, "\nother:\n")
				first = false
			}
			printFlag(w, f)
		}
	})
}

func printFlag(w io.Writer, f *flag.Flag) {
	name, u := flag.UnquoteUsage(f)
	fmt.Fprintf(w, "  -%s\n    \t%s", strings.TrimSpace(f.Name+" "+name), strings.ReplaceAll(u, "\n", "\n    \t"))
	if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "[]" {
		fmt.Fprintf(w, " (default %s)", f.DefValue)
	}
	fmt.Fprintln(w)
}
