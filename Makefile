# gale: build, test, benchmark.
#
# `make test` is what CI runs: lint, the unit and end-to-end tests, the
# kernels at every CPU level (and under qemu for arm64 when
# qemu-aarch64-static is installed), the race detector on the thread pool,
# and a short run of every fuzz target.

GO       ?= go
# Fuzz budgets are execution counts, not durations: a duration-based
# -fuzztime can fail with a spurious "context deadline exceeded" when the
# deadline lands while a worker is minimizing (golang/go#75804, unfixed in
# Go 1.26); a count has no deadline to race and costs the same on any machine.
FUZZTIME ?= 50000x
FUZZMINIMIZE ?= 500x
BIN      ?= bin/gale

# The version and revision gale version prints, stamped with -ldflags so
# that they are there even when Go's VCS stamping is off (-buildvcs=false
# in GOFLAGS, or a git worktree Go does not stamp). Outside a checkout
# they stay empty and gale falls back to what Go recorded.
VERSION  ?= $(shell git describe --tags --dirty 2>/dev/null)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
PKG_CLI  := github.com/gale-ai/gale/internal/cli
LDFLAGS  := $(if $(VERSION),-X $(PKG_CLI).Version=$(VERSION)) $(if $(REVISION:-dirty=),-X $(PKG_CLI).Revision=$(REVISION))

.PHONY: all build test lint unit levels race arm64 fuzz fuzz-long bench bench-kernels clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gale

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags noasm ./kernels/ ./tensor/
	GOARCH=arm64 $(GO) vet ./kernels/ ./tensor/
	$(GO) mod tidy -diff
	@# The committed assembly must be what the avo generator writes today
	@# (the go:generate line of kernels/arch_amd64.go, into a scratch dir;
	@# the first line names the output paths, so it is not compared).
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GO) run -C kernels/_gen . -out $$tmp/asm_amd64.s -stubs $$tmp/stubs_amd64.go -pkg kernels -tab $$tmp/mmtab_amd64.go && \
	for f in asm_amd64.s stubs_amd64.go mmtab_amd64.go; do \
		tail -n +2 $$tmp/$$f >$$tmp/body; tail -n +2 kernels/$$f | cmp -s - $$tmp/body || { echo "kernels/$$f is not what go generate ./kernels/ writes: regenerate and commit it"; exit 1; }; \
	done; \
	$(GO) run -C kernels/_gen ./q32 -out $$tmp/quant32_amd64.s && \
	tail -n +2 $$tmp/quant32_amd64.s >$$tmp/body; tail -n +2 kernels/quant32_amd64.s | cmp -s - $$tmp/body || \
		{ echo "kernels/quant32_amd64.s is not what go generate ./kernels/ writes: regenerate and commit it"; exit 1; }; \
	$(GO) run -C kernels/_gen ./q32neon -out $$tmp/quant32_arm64.s && \
	tail -n +2 $$tmp/quant32_arm64.s >$$tmp/body; tail -n +2 kernels/quant32_arm64.s | cmp -s - $$tmp/body || \
		{ echo "kernels/quant32_arm64.s is not what GOARCH=arm64 go generate ./kernels/ writes: regenerate and commit it"; exit 1; }; \
	$(GO) run -C kernels/_gen ./panely -out $$tmp/panel_avx2_amd64.s && \
	tail -n +2 $$tmp/panel_avx2_amd64.s >$$tmp/body; tail -n +2 kernels/panel_avx2_amd64.s | cmp -s - $$tmp/body || \
		{ echo "kernels/panel_avx2_amd64.s is not what go generate ./kernels/ writes: regenerate and commit it"; exit 1; }; \
	$(GO) run -C kernels/_gen ./few -out $$tmp/few_amd64.s -stubs $$tmp/few_stubs_amd64.go && \
	for f in few_amd64.s few_stubs_amd64.go; do \
		tail -n +2 $$tmp/$$f >$$tmp/body; tail -n +2 kernels/$$f | cmp -s - $$tmp/body || { echo "kernels/$$f is not what go generate ./kernels/ writes: regenerate and commit it"; exit 1; }; \
	done

unit:
	$(GO) test -count=1 ./...

# Every kernel level this machine has is already covered by the unit tests
# (they loop over kernels.Levels()); these runs check the start-up path
# that reads GALE_CPU and the pure-Go build.
levels:
	GALE_CPU=generic $(GO) test -count=1 ./kernels/ ./model/
	GALE_CPU=avx2 $(GO) test -count=1 ./kernels/
	$(GO) test -count=1 -tags noasm ./kernels/ ./tensor/ ./model/

race:
	$(GO) test -count=1 -race ./tensor/
	$(GO) test -count=1 -race -run 'TinyMistral|Engine|Prefix' ./model/
	$(GO) test -count=1 -race ./server/

arm64:
	@if command -v qemu-aarch64-static >/dev/null 2>&1; then \
		echo "GOARCH=arm64 go test -exec qemu-aarch64-static ./kernels/ ./tensor/"; \
		GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static ./kernels/ ./tensor/; \
	else echo "qemu-aarch64-static not installed: arm64 kernels NOT tested (apt-get install qemu-user-static)"; fi

# Runs every Fuzz target of every package for FUZZTIME. Each run's log
# goes to a private mktemp file (removed on exit), so concurrent runs and
# other users never share one.
fuzz:
	@set -e; log=$$(mktemp "$${TMPDIR:-/tmp}/gale-fuzz.XXXXXX"); trap 'rm -f "$$log"' EXIT; \
	for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg >"$$log" 2>&1 || { cat "$$log"; exit 1; }; \
		done; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=2000000x

test: lint unit levels race arm64 fuzz

bench-kernels:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./kernels/

bench:
	$(GO) test -run '^$$' -bench . ./kernels/ ./tokenizer/
	$(GO) run ./cmd/gale bench --synthetic mistral-7b --dtype bf16 -p 64 -n 16 -t 2

clean:
	rm -rf bin
