# danube-console: `make run` starts it, `make test` checks everything CI checks.

GO ?= go
BIN := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

# Code generation tools, pinned. `make proto` installs them into .bin/ with the Go toolchain.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_PKGS                 := danubepb schemapb adminpb consolepb

BENCHTIME ?= 2s

.PHONY: run test build proto proto-check proto-tools bench fuzz soak lint deps clean

## run: the console on the embedded broker (127.0.0.1:6650, admin 50051, data in ./danube-data) with the demo pipeline
run: build
	./bin/danube-console

## test: dependencies, lint, generated-code check, and every test with the race detector
test: deps lint proto-check
	$(GO) test -race -count=1 ./...

## build: the danube-console binary in bin/
build:
	$(GO) build -o bin/danube-console .

## deps: what `make test` needs besides Go: PostgreSQL, mosquitto, tmux and Prometheus from Debian (installed when missing)
deps:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 is required: https://go.dev/dl/"; exit 1; }
	@missing=""; \
		ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
		command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || missing="$$missing mosquitto"; \
		command -v tmux >/dev/null || missing="$$missing tmux"; \
		command -v prometheus >/dev/null || missing="$$missing prometheus"; \
		if [ -n "$$missing" ]; then \
			echo "installing$$missing"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
		fi
	$(GO) mod download

proto-tools:
	@mkdir -p $(BIN)
	@test -x $(BIN)/buf && $(BIN)/buf --version | grep -qx '$(BUF_VERSION:v%=%)' || \
		GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

## proto: regenerate the Go code in proto/*pb from the .proto files
proto: proto-tools
	cd proto && buf generate

## proto-check: fail when the committed generated code differs from a fresh generation
proto-check: proto-tools
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
		(cd proto && buf generate -o $$tmp) && \
		for p in $(PROTO_PKGS); do diff -r $$tmp/$$p proto/$$p || { echo "proto/$$p is stale: run make proto"; exit 1; }; done && \
		echo "generated code is up to date"

## bench: broker, store, client and connector throughput and latency, each next to its baseline in the same run (ratios), and the console's whole frames (its tick, View and Bubble Tea's renderer) next to View alone
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./broker/ ./broker/store/disk/ ./client/ ./connectors/all/ ./monitor/ ./tui/
	$(GO) test -run '^$$' -bench ConsoleIdleCPU -benchtime 1x ./e2e/

## fuzz: the store's record decoder, segment recovery and metadata recovery under the fuzzer, 30 s each
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRecordDecode$$' -fuzztime $(FUZZTIME) ./broker/store/disk/
	$(GO) test -run '^$$' -fuzz '^FuzzSegmentRecovery$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./broker/store/disk/
	$(GO) test -run '^$$' -fuzz '^FuzzMetaRecovery$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./broker/store/disk/

## soak: a broker process on a data directory for SOAK_TIME under churn, load and SIGKILL/SIGTERM restarts; checks nothing acknowledged is lost and that meta.log and RSS follow the live state
SOAK_TIME ?= 10m
SOAK_TIMEOUT ?= 3h
soak:
	SOAK_TIME=$(SOAK_TIME) $(GO) test -tags soak -run '^TestSoak$$' -count=1 -v -timeout $(SOAK_TIMEOUT) ./e2e/

## lint: gofmt and go vet
lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin .bin
