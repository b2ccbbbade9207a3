package relay

import (
	"io"
	"strings"

	"github.com/mcdedup/mcdedup/bench/internal/cli"
	"github.com/mcdedup/mcdedup/internal/fabric"
	"github.com/mcdedup/mcdedup/internal/udpio"
)

const summary = `
relay is the benchmark baseline: it receives unicast frames on -listen and
multicasts each to the shard group of its TxID (the proxy's fabric flags and
socket settings), with recvmmsg/sendmmsg and nothing else. It prints one
"relay: ready listen=ADDR ..." line on stderr once bound and exits 0 on
SIGINT or SIGTERM.`

// Main runs the relay command line and returns its exit code: 0 after a
// signal, 1 on a socket failure, 2 on a bad flag or configuration.
func Main(args []string, stderr io.Writer) int {
	t := cli.New("relay", summary, stderr)
	fab := fabric.RegisterFlags(t.EF, "RELAY_")
	cfg := Config{}
	t.EF.StringVar(&cfg.Listen, "listen", "RELAY_LISTEN", "127.0.0.1:8725", "unicast ingress address (port 0 picks one)")
	t.EF.IntVar(&cfg.Workers, "workers", "RELAY_WORKERS", 1, "SO_REUSEPORT ingress sockets, one goroutine and egress each")
	t.EF.IntVar(&cfg.Batch, "batch", "RELAY_BATCH", udpio.DefaultBatch, "datagrams per recvmmsg/sendmmsg")
	if code, ok := t.Parse(args); !ok {
		return code
	}
	cfg.Fabric = *fab
	if err := cfg.Validate(); err != nil {
		return t.Usage(err)
	}
	// The same spare P as the proxy (udpio.SpareP), so that the baseline
	// runs under the same scheduler conditions.
	udpio.SpareP(cfg.Workers)
	ctx, stop := cli.SignalContext()
	defer stop()
	r, err := Open(cfg)
	if err != nil {
		return t.Fail(err)
	}
	tab, _ := cfg.Fabric.Table()
	t.Logf("ready listen=%s workers=%d shard-bits=%d groups=%v…%v port=%d ifaces=%s",
		r.Addr(), cfg.Workers, cfg.Fabric.Bits(), tab.IP(0), tab.IP(uint16(cfg.Fabric.Groups()-1)), tab.Port(),
		strings.Join(cfg.Fabric.Ifaces, ","))
	r.Run(ctx)
	t.Logf("stopped; kernel drops at ingress: %d", r.KernelDrops())
	return cli.ExitOK
}
