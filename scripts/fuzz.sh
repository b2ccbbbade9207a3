#!/usr/bin/env bash
# Runs every Fuzz* target in the module (go test -fuzz takes one target per
# invocation). Fails on the first crasher; the failing input is written under
# the package's testdata/fuzz/ by the go tool.
#
# Budgets are execution counts by default (-fuzztime Nx), sized to a few
# seconds per target on a 2-core machine: Go 1.26's fuzz coordinator can
# report "context deadline exceeded" when a duration -fuzztime expires while
# a worker is mid-call (go.dev/issue/75804, fixed in Go 1.27), a failure with
# no input behind it, and a count has no deadline to race. FUZZTIME=10s (or
# 5000x) applies one budget to every target instead; with a duration, a run
# that fails with exactly that message and wrote no failing input is run
# once more, and any other failure, or the same one twice, fails the script.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-}
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# budget TARGET: the -fuzztime of a target.
budget() {
  if [ -n "$FUZZTIME" ]; then
    echo "$FUZZTIME"
    return
  fi
  case "$1" in
    FuzzTCPFraming) echo 1000x ;;    # a TCP connection per input: ~250 execs/s
    FuzzProxyDatagram) echo 8000x ;; # the proxy's whole datagram path: ~2,000/s
    FuzzRESPReply | FuzzNextFrame | FuzzFlowState) echo 30000x ;;
    *) echo 100000x ;;              # pure parsers: 30,000-75,000/s
  esac
}

# run_target PKG TARGET: 0 on success, 1 on a failure, 2 on the spurious
# deadline failure described above.
run_target() {
  if $GO test -run '^$' -fuzz "^$2\$" -fuzztime "$(budget "$2")" "$1" 2>&1 | tee "$log"; then
    return 0
  fi
  if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
    return 2
  fi
  return 1
}

n=0
for pkg in $($GO list ./...); do
  for target in $($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz: $pkg $target ($(budget "$target"))"
    rc=0
    run_target "$pkg" "$target" || rc=$?
    if [ "$rc" -eq 2 ]; then
      echo "fuzz: $target: deadline reported with no failing input (go.dev/issue/75804); running it once more"
      rc=0
      run_target "$pkg" "$target" || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
      echo "fuzz: $pkg $target failed"
      exit 1
    fi
    n=$((n+1))
  done
done
echo "fuzz: $n targets passed"
