# chaintrace: the two commands a new machine needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin/chaintrace
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build demo test lint bench bench-go bench-index clean

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

# Go micro-benchmarks, then the end-to-end index benchmark against an
# in-process node (2,000 blocks, 50,000 transactions of mixed kinds).
bench: bench-go bench-index

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-index: build
	./$(BIN) bench index --blocks 2000 --txs-per-block 25
	./$(BIN) bench trace --noise-blocks 1000

clean:
	rm -rf bin demo-out
