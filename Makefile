# chaintrace: the two commands a new machine needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin/chaintrace
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build demo test lint bench bench-go bench-e2e heuristics-report clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/chaintrace

# The main job on the embedded scenario: no network, no node to install.
demo: build
	./$(BIN) demo --out demo-out

# Lint, then every test (real in-process geth node, real Badger, recorded
# node answers from ../shared/fixtures).
test: lint
	$(GO) test -count=1 -timeout 20m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Go micro-benchmarks, then the end-to-end benchmarks against in-process
# nodes: index (2,000 blocks, 50,000 transactions of mixed kinds), index of
# Bitcoin on a real btcd (2,000 blocks, 22,000 transactions: builds btcd
# from the module cache on first use), a warm trace against a cold one, and
# address history over 1,000,000 blocks.
bench: bench-go bench-e2e

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-e2e: build
	./$(BIN) bench index --blocks 2000 --txs-per-block 25
	./$(BIN) bench index --chain btc --blocks 2000 --txs-per-block 10
	./$(BIN) bench trace --noise-blocks 1000
	./$(BIN) bench history --blocks 1000000 --delay 20ms

# Measure every heuristic's error rates on labelled scenario chains (btcd
# and the in-process geth), write the table to docs/ and the rates the tool
# embeds (exhibits cite them), then rebuild so the binary carries them.
heuristics-report: build
	./$(BIN) bench heuristics --report docs/heuristics-report.md --rates heuristics/errorrates.json
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/chaintrace

clean:
	rm -rf bin demo-out
