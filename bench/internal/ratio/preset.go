// Package ratio runs two pipelines A and B alternately (A, B, A, B, …) under
// the same offered load and reports the delivered frame rate of each round,
// the medians and the median ratio B/A with its spread, so that machine
// drift cancels. Each run starts the pipeline, waits until it accepts
// frames, starts a sink tap on the shard groups, drives loadgen at the
// ingress and waits for the sink to go idle. Binaries are built once per
// invocation and run as subprocesses; every wait has a timeout and children
// die with the runner.
package ratio

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Preset is a named pipeline: a binary of this module and the command line
// that puts it between the ingress and the fabric. Adding a pipeline is one
// entry in Presets.
type Preset struct {
	// Pkg is the Go package to build (relative to the module root); the
	// binary is named after the preset and found at {bin}/NAME.
	Pkg string
	// Args is the command-line template; see Vars for the placeholders.
	Args string
	// Ready is a substring of the stderr line the binary prints once it
	// accepts frames; "" relies on the warm-up alone.
	Ready string
}

// Presets are the pipelines -a and -b can name.
//
// The proxy runs with the relay's fabric flags, its own flow identity and
// its defaults otherwise: tier-1 dedup of 1,048,576 TxIDs, fragmentation at
// 1500, no backend. The environment reaches it, so a Redis claim backend is
// DEDUP_BACKEND=redis DEDUP_REDIS_ADDR=host:port in the runner's env (the
// relay ignores those variables).
var Presets = map[string]Preset{
	"relay": {
		Pkg: "./bench/relay",
		Args: "-listen {ingress} -shard-bits {shard_bits} -ipv4-group-base {group_base} -egress-port {port} " +
			"-iface {iface} -workers {workers}",
		Ready: "relay: ready",
	},
	"proxy": {
		Pkg: "./cmd/proxy",
		Args: "-listen {ingress} -shard-bits {shard_bits} -ipv4-group-base {group_base} -egress-port {port} " +
			"-iface {iface} -workers {workers} -flow-source 127.0.0.1 -metrics-addr 127.0.0.1:0",
		Ready: "proxy ready",
	},
}

// Vars are the values substituted into a command template, by placeholder
// name: {bin} (directory of the built binaries), {ingress} (host:port of the
// unicast ingress), {ingress_host}, {ingress_port}, {shard_bits},
// {group_base} (IPv4 group base), {port} (fabric port), {iface} and
// {workers}.
type Vars map[string]string

// Expand replaces every {name} of template with its value.
func (v Vars) Expand(template string) string {
	pairs := make([]string, 0, 2*len(v))
	for k, val := range v {
		pairs = append(pairs, "{"+k+"}", val)
	}
	return strings.NewReplacer(pairs...).Replace(template)
}

// pipeline is one side of the comparison.
type pipeline struct {
	label string // "A" or "B"
	name  string // preset name, or "cmd" for a raw command
	raw   string // raw command template (run by sh -c), if not a preset
	pre   Preset
}

// argv returns the expanded command line of the pipeline.
func (p *pipeline) argv(v Vars) []string {
	if p.raw != "" {
		return []string{"/bin/sh", "-c", "exec " + v.Expand(p.raw)}
	}
	args := strings.Fields(p.pre.Args)
	for i, a := range args {
		args[i] = v.Expand(a)
	}
	return append([]string{v["bin"] + "/" + p.name}, args...)
}

// resolvePipeline returns the pipeline for a preset name or raw command
// (exactly one of the two may be set; both empty gives nil).
func resolvePipeline(label, name, raw string) (*pipeline, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case name != "" && raw != "":
		return nil, fmt.Errorf("-%s and -%s-cmd: give one, not both", strings.ToLower(label), strings.ToLower(label))
	case raw != "":
		return &pipeline{label: label, name: "cmd", raw: raw}, nil
	case name == "":
		return nil, nil
	}
	pre, ok := Presets[name]
	if !ok {
		return nil, fmt.Errorf("-%s %q: unknown preset (have %s)", strings.ToLower(label), name, presetNames())
	}
	return &pipeline{label: label, name: name, pre: pre}, nil
}

func presetNames() string {
	var names []string
	for n := range Presets {
		names = append(names, strconv.Quote(n))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
