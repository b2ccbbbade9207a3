#!/usr/bin/env bash
# Runs every Fuzz* target in the module for $FUZZTIME each (go test -fuzz takes
# one target per invocation). Fails on the first crasher; the failing input is
# written under the package's testdata/fuzz/ by the go tool.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-4s}
cd "$(dirname "$0")/.."
n=0
for pkg in $($GO list ./...); do
  for target in $($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz: $pkg $target ($FUZZTIME)"
    $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
    n=$((n+1))
  done
done
echo "fuzz: $n targets passed"
