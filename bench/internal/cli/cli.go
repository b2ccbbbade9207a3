// Package cli holds what the bench tools share around their flags: exit codes
// (2 for a bad command line or configuration, as the flag package does),
// env-backed flag sets whose errors are printed once and briefly, a signal
// context, a payload-size range flag and one-line JSON output.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/mcdedup/mcdedup/internal/envflag"
)

// Exit codes of the bench tools.
const (
	// ExitOK means the run completed.
	ExitOK = 0
	// ExitFailure means the run failed (socket errors, a child that died).
	ExitFailure = 1
	// ExitUsage means a bad flag, env var or configuration.
	ExitUsage = 2
)

// Tool is the command-line front of one bench tool.
type Tool struct {
	// Name prefixes every message ("loadgen: …").
	Name string
	// Stderr receives messages and help.
	Stderr io.Writer
	// FS is the tool's flag set.
	FS *flag.FlagSet
	// EF registers env-backed flags on FS.
	EF *envflag.Set

	summary string
}

// New returns a Tool whose flag set prints summary above the flag list on -h.
func New(name, summary string, stderr io.Writer) *Tool {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse prints errors itself, once
	fs.Usage = func() {}     // the flag package calls it on errors too; Parse prints help itself
	return &Tool{Name: name, Stderr: stderr, FS: fs, EF: envflag.New(fs), summary: summary}
}

// PrintHelp prints the summary and every flag with its env var.
func (t *Tool) PrintHelp() {
	fmt.Fprintf(t.Stderr, "Usage of %s:\n%s\n\nFlags (each also read from the env var shown):\n", t.Name, strings.TrimSpace(t.summary))
	t.FS.SetOutput(t.Stderr)
	t.FS.PrintDefaults()
	t.FS.SetOutput(io.Discard)
}

// Parse parses args. ok is false when the caller must return code at once:
// 0 after -h, ExitUsage after a bad flag, a bad env value or a stray
// argument, with a one-line message.
func (t *Tool) Parse(args []string) (code int, ok bool) {
	err := t.EF.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		t.PrintHelp()
		return ExitOK, false
	case err != nil:
		return t.Usage(err), false
	case t.FS.NArg() > 0:
		return t.Usage(fmt.Errorf("unexpected argument %q", t.FS.Arg(0))), false
	}
	return ExitOK, true
}

// Usage prints a configuration error with a pointer to -h and returns
// ExitUsage.
func (t *Tool) Usage(err error) int {
	fmt.Fprintf(t.Stderr, "%s: %v\nRun '%s -h' for the flags.\n", t.Name, err, t.Name)
	return ExitUsage
}

// Fail prints a run-time error and returns ExitFailure.
func (t *Tool) Fail(err error) int {
	fmt.Fprintf(t.Stderr, "%s: %v\n", t.Name, err)
	return ExitFailure
}

// Logf prints one line prefixed with the tool's name.
func (t *Tool) Logf(format string, args ...any) {
	fmt.Fprintf(t.Stderr, t.Name+": "+format+"\n", args...)
}

// SignalContext returns a context cancelled by SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// WriteJSON writes v as one line of JSON.
func WriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Range is a flag.Value for a size "N" or a range "MIN-MAX".
type Range struct {
	Min, Max int // bounds, inclusive; equal for a single size
}

// String implements flag.Value.
func (r *Range) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// Set implements flag.Value.
func (r *Range) Set(s string) error {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return fmt.Errorf("want a size N or a range MIN-MAX")
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return fmt.Errorf("want a size N or a range MIN-MAX")
		}
	}
	if a > b {
		return fmt.Errorf("range %d-%d: minimum above maximum", a, b)
	}
	r.Min, r.Max = a, b
	return nil
}

// Env returns the env var of a tool flag: prefix and the flag name in upper
// snake case ("LOADGEN_", "dup-ratio" gives LOADGEN_DUP_RATIO).
func Env(prefix, flag string) string { return envflag.EnvName(prefix, flag) }

// Problems collects configuration errors, each naming its flag, so that a
// tool reports all of them at once.
type Problems struct{ errs []error }

// Add records a problem with flag.
func (p *Problems) Add(flag, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("-%s: %s", flag, fmt.Sprintf(format, args...)))
}

// AddErr records an error that already names its flag (nil is ignored).
func (p *Problems) AddErr(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Proto checks a -proto value that is udp, tcp (both needing the unicast
// address given as addrFlag) or multicast.
func (p *Problems) Proto(proto, addr, addrFlag string) {
	switch proto {
	case "udp", "tcp":
		if addr == "" {
			p.Add(addrFlag, "%s needs a unicast host:port", proto)
		}
	case "multicast":
	default:
		p.Add("proto", "%q: must be udp, tcp or multicast", proto)
	}
}

// Err returns the problems joined, or nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }
