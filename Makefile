# goai's build. `make demo` and `make test` work on a fresh machine with Go
# installed: every tool is built from versions pinned in tools/go.mod (buf)
# and tools/plugins/go.mod (protoc-gen-go, protoc-gen-go-grpc), and
# Debian's protoc is installed with apt-get when missing.
#
# The repository holds several Go modules: the runtime at the root, which
# users depend on and whose requirements are only what it needs; the
# plugin (cmd/protoc-gen-goai); the benchmarks (bench); the examples
# (examples, examples/service); the Prometheus and OpenTelemetry
# instrumentation (goaiprom, goaiotel), kept out of the runtime's
# requirements; the JSON comparison of the REST codec
# (internal/oiphttp/jsonbench); and the tools. Each nested module points at
# the root with a replace directive. MODULES lists those tested here.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
BIN := $(CURDIR)/bin
# Bounded fuzzing per target in `make test`, as a count of executions:
# a duration (-fuzztime 10s) trips a race in Go 1.26's fuzz coordinator
# that fails the run with "context deadline exceeded" at the deadline
# (golang/go#75804, fixed in Go 1.27). The slow targets compile and
# generate a whole proto per execution. `make fuzz FUZZTIME=5m` digs deeper.
FUZZTIME ?= 100000x
FUZZTIME_SLOW ?= 2000x
FUZZ_SLOW_TARGETS := FuzzAnnotations FuzzProtoSource
MODULES := . cmd/protoc-gen-goai bench examples examples/service goaiprom goaiotel

.PHONY: all tools plugin generate check-generate test lint vet tidy tidy-check fmt-check demo fuzz bench protoc clean

all: generate test

## tools: build buf and the protoc plugins into bin/ from pinned versions.
tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc

$(BIN)/buf: tools/go.mod tools/go.sum
	$(GO) build -modfile=tools/go.mod -o $(BIN)/buf github.com/bufbuild/buf/cmd/buf

$(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc &: tools/plugins/go.mod tools/plugins/go.sum
	$(GO) build -C tools/plugins -o $(BIN)/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

## plugin: build protoc-gen-goai from this tree (always, it is cheap).
plugin:
	$(GO) build -C cmd/protoc-gen-goai -o $(BIN)/protoc-gen-goai .

## generate: regenerate every committed .pb.go with buf: goai's workspace,
## then each test workspace of real protocol protos (internal/*/buf.gen.yaml),
## kept apart so that their names never meet goai's.
generate: tools plugin
	$(BIN)/buf generate
	@for gen in $$(git ls-files 'internal/*/buf.gen.yaml'); do \
	  echo "cd $$(dirname $$gen) && buf generate"; \
	  (cd $$(dirname $$gen) && $(BIN)/buf generate); \
	done

## check-generate: regenerate, then fail if any generated file changed.
check-generate: generate
	@changed=$$(git status --porcelain -- '*.pb.go'); \
	if [ -n "$$changed" ]; then \
	  echo "generated code is stale; run 'make generate' and commit:"; echo "$$changed"; \
	  git --no-pager diff --stat -- '*.pb.go'; exit 1; \
	fi

## protoc: install Debian's protoc and its well-known types when missing.
protoc:
	@if ! command -v protoc >/dev/null || [ ! -f /usr/include/google/protobuf/descriptor.proto ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq protobuf-compiler libprotobuf-dev >/dev/null; \
	fi
	@protoc --version

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	@for m in $(MODULES); do echo "go vet ($$m)"; $(GO) -C $$m vet ./...; done

## tidy: go mod tidy in every module; tidy-check fails where it would
## change a go.mod or go.sum.
tidy:
	@for m in $(MODULES); do echo "go mod tidy ($$m)"; $(GO) -C $$m mod tidy; done

tidy-check:
	@for m in $(MODULES); do echo "go mod tidy -diff ($$m)"; $(GO) -C $$m mod tidy -diff; done

## lint: gofmt, go vet, go mod tidy -diff and buf lint.
lint: fmt-check vet tidy-check tools
	$(BIN)/buf lint

## test: everything CI checks.
test: protoc lint check-generate
	$(MAKE) --no-print-directory fuzz
	$(GO) test -count=1 -race . ./goaiimpl/... ./tensor/... ./inferencetest/... ./internal/...
	$(GO) -C goaiprom test -count=1 -race ./...
	$(GO) -C goaiotel test -count=1 -race ./...
	@for m in $(MODULES); do echo "go test ($$m)"; GOAI_REQUIRE_PROTOC=1 $(GO) -C $$m test -count=1 ./...; done

## fuzz: run every fuzz target for FUZZTIME.
fuzz:
	@for dir in $$(git grep -l '^func Fuzz' -- '*_test.go' | xargs -r -n1 dirname | sort -u); do \
	  for target in $$(git grep -h -o '^func Fuzz[A-Za-z0-9_]*' -- ":(glob)$$dir/*_test.go" | sed 's/^func //'); do \
	    budget=$(FUZZTIME); case " $(FUZZ_SLOW_TARGETS) " in *" $$target "*) budget=$(FUZZTIME_SLOW);; esac; \
	    mod=$$dir; while [ ! -f $$mod/go.mod ]; do mod=$$(dirname $$mod); done; \
	    echo "fuzz ./$$dir $$target ($$budget)"; \
	    $(GO) -C $$mod test -run '^$$' -fuzz "^$$target$$" -fuzztime $$budget ./$${dir#$$mod/} >/tmp/goai-fuzz.log 2>&1 \
	      || { cat /tmp/goai-fuzz.log; exit 1; }; \
	  done; \
	done

## demo: generate the example clients and run them against the in-process server.
demo: generate
	$(GO) -C examples run ./cmd/demo

## bench: run the benchmark suite and write BENCHMARKS.md and its chart.
bench:
	$(GO) build -C bench -o $(BIN)/benchreport ./internal/benchreport
	$(BIN)/benchreport -run -dir .bench -out BENCHMARKS.md -chart docs/bench-client.svg

clean:
	rm -rf $(BIN)
