# mcdedup — see README.md. Every target runs offline once modules are cached.
GO        ?= go
FUZZTIME  ?=
PKGS      ?= ./...

.PHONY: all build test unit lint fuzz bench demo clean

all: lint build test

build:
	$(GO) build $(PKGS)

# The README's test command: race-enabled tests, then a short pass of every fuzz target.
test: unit fuzz

# Race builds keep tier 1 on the Go heap, where the detector sees it
# (txidset/local_arena.go), so the packages that run the off-heap huge-page
# table in production are tested once more without -race.
unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(GO) test -count=1 -timeout 10m ./txidset ./internal/proxy

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Runs each Fuzz* target of every package: a per-target execution count
# (scripts/fuzz.sh), or FUZZTIME (10s, 5000x) for every target.
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh

# The README's demo: submitters with duplicates → proxy (memory backend) →
# IPv4 loopback multicast → fabric tap, printing what was delivered.
demo:
	$(GO) run ./bench/demo

# Go micro-benchmarks of every package (compact table), then short
# loadgen → relay → sink runs over IPv4 loopback multicast; see bench/README.md.
bench:
	GO=$(GO) PKGS="$(PKGS)" bash bench/run.sh

clean:
	$(GO) clean -testcache
