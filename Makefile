# GEN Data Hub. `make run` starts the hub on its embedded PostgreSQL with demo
# data; `make test` runs every test against a real PostgreSQL.
GO ?= go
BIN := bin/genhub

.PHONY: run build test test-short generate playground bench soak fuzz lint clean

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

lint:
	gofmt -l $$(git ls-files '*.go' | grep -v generated.go)
	$(GO) vet ./...

clean:
	rm -rf bin

# Indicator query time (p50, p90) at demo scale and at scale 10; the scale-10
# template is built once per PostgreSQL server (about a minute).
.PHONY: bench-indicators
bench-indicators:
	GENHUB_BENCH_SCALE10=1 $(GO) test -run '^$$' -bench BenchmarkIndicators -benchtime 30x -count 1 -timeout 30m ./graph
