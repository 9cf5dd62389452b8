# GEN Data Hub. `make run` starts the hub on its embedded PostgreSQL with demo
# data; `make test` runs every test against a real PostgreSQL.
GO ?= go
BIN := bin/genhub

.PHONY: run build test test-short generate playground bench bench-peer bench-explain lint clean

run: build
	./$(BIN) serve

build:
	$(GO) build -o $(BIN) ./cmd/genhub

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -count=1 ./...

# Regenerate gqlgen's code after editing schema.graphqls or gqlgen.yml.
generate:
	$(GO) tool gqlgen generate

# Rebuild the embedded GraphiQL assets from the pinned npm packages (needs Node.js and npm).
playground:
	./scripts/build-playground.sh

# Benchmarks (not part of `make test`): a throwaway cluster at scale 10, the hub
# as a real process driven over HTTP, and the raw SQL ceiling. See README.
bench: build
	$(GO) run ./cmd/genhub-bench -hub $(BIN)

# The plans PostgreSQL chooses for the hub's statements, under row-level security.
bench-explain: build
	$(GO) run ./cmd/genhub-bench -hub $(BIN) -explain

# Side by side with PostGraphile v4 and v5 on the same database (../shared/bench).
bench-peer:
	bench/peer/run.sh

# Soak: 32 clients for 2 minutes of valid, invalid and hostile requests from
# several partners, against a throwaway cluster; prints throughput, outcomes,
# p99 and the hub's memory and goroutines at the start and the end.
soak:
	$(GO) run ./cmd/genhub-soak -clients 32 -duration 2m

# Fuzz the HTTP handler beyond its seed corpus (which `make test` runs).
FUZZTIME ?= 10m
fuzz:
	$(GO) test -run '^$$' -fuzz=FuzzGraphQL -fuzztime=$(FUZZTIME) ./internal/server/

lint:
	gofmt -l $$(git ls-files '*.go' | grep -v generated.go)
	$(GO) vet ./...

clean:
	rm -rf bin
