#!/usr/bin/env bash
# make bench: every Go micro-benchmark of the module as a compact table, then
# short loadgen → relay → sink runs over IPv4 loopback multicast (one paced at
# 20,000 frames/s, one flat out). See bench/README.md for how to read them.
#
# Environment: GO (go command), PKGS (packages, default ./...), BENCHTIME
# (per benchmark, default 200ms), RUN_SECONDS (per loopback run, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PKGS=${PKGS:-./...}
BENCHTIME=${BENCHTIME:-200ms}
RUN_SECONDS=${RUN_SECONDS:-3}

echo "== Go micro-benchmarks (-benchtime $BENCHTIME)"
# shellcheck disable=SC2086 # PKGS is a list of patterns
$GO test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" $PKGS | awk '
	/^pkg: / { pkg = $2; sub(/^github.com\/mcdedup\/mcdedup\//, "", pkg); next }
	/^Benchmark/ {
		if (!header++) printf "%-22s %-52s %12s %10s %10s  %s\n", "package", "benchmark", "ns/op", "B/op", "allocs/op", "other"
		name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
		ns = b = a = ""; extra = ""
		for (i = 3; i < NF; i += 2) {
			if ($(i+1) == "ns/op") ns = $i
			else if ($(i+1) == "B/op") b = $i
			else if ($(i+1) == "allocs/op") a = $i
			else extra = extra " " $i " " $(i+1)
		}
		printf "%-22s %-52s %12s %10s %10s %s\n", pkg, name, ns, b, a, extra
		next
	}
	/^(FAIL|---|panic)/ { print }
'

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
$GO build -o "$bin/" ./bench/loadgen ./bench/sink ./bench/relay ./bench/ratio
for rate in 20000 0; do
	echo
	echo "== loadgen -rate $rate → relay → sink tap, IPv4 loopback multicast, ${RUN_SECONDS}s, 256-byte payloads, shard-bits 4"
	if ! "$bin/ratio" -a relay -rounds 1 -rate "$rate" -duration "${RUN_SECONDS}s" -bin-dir "$bin" 2>"$bin/stderr"; then
		cat "$bin/stderr" >&2 # progress lines are noise, unless something failed
		exit 1
	fi
done
