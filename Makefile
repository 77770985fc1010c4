# The bookstore's dev loop. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go

# Local development settings (never used in a deployment).
DEV_DB_PORT     ?= 5433
DEV_ADMIN_TOKEN ?= dev-admin-token
DEV_DB          = 127.0.0.1:$(DEV_DB_PORT)/bookstore?sslmode=disable

.DEFAULT_GOAL := help
.PHONY: help test bench vet fmt-check generate check-generated build ide run db books orders router clean

help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

test: vet fmt-check ## Run every test against a real PostgreSQL (DATABASE_URL, or a throwaway cluster).
	$(GO) test -race -count=1 ./...

bench: ## Measure the router: its overhead against books-subgraph direct, and its federated throughput against Apollo Gateway.
	$(GO) run ./router/cmd/bench

vet: ## go vet the module.
	$(GO) vet ./...

fmt-check: ## Fail when a Go file is not gofmt-formatted.
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$files" ]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi

generate: ## Regenerate the gqlgen code of both subgraphs after a schema change.
	cd books-subgraph && $(GO) tool gqlgen generate
	cd orders-subgraph && $(GO) tool gqlgen generate

check-generated: generate ## Fail when the committed gqlgen code is not what the schemas generate.
	@git diff --exit-code --stat -- books-subgraph orders-subgraph || \
	  { echo "generated code is stale: run make generate and commit"; exit 1; }

build: ## Build the binaries into bin/.
	$(GO) build -o bin/ ./books-subgraph ./orders-subgraph ./router ./migrations/cmd/migrate

ide: ## Fetch the GraphQL IDE's files (GraphiQL, React; pinned by router/ide/_npm) into router/ide/assets/ with npm.
	$(GO) run ./router/ide/cmd/ideassets

run: ide ## Run the whole stack on localhost: PostgreSQL, 2 replicas of each subgraph, the router on :8080 (Ctrl-C stops all).
	$(GO) build -o bin/devstack ./router/cmd/devstack
	bin/devstack -db-port $(DEV_DB_PORT) -admin-token '$(DEV_ADMIN_TOKEN)'

db: ## Run a private PostgreSQL under .data/ on DEV_DB_PORT, migrated and seeded (foreground).
	$(GO) run ./migrations/cmd/devdb -port $(DEV_DB_PORT)

books: ## Run books-subgraph on 127.0.0.1:4001 against `make db`.
	DATABASE_URL='postgres://books_app:dev-books_app@$(DEV_DB)' ADMIN_TOKEN=$(DEV_ADMIN_TOKEN) \
	ADDR=127.0.0.1:4001 $(GO) run ./books-subgraph

orders: ## Run orders-subgraph on 127.0.0.1:4003 against `make db`.
	DATABASE_URL='postgres://orders_app:dev-orders_app@$(DEV_DB)' ADMIN_TOKEN=$(DEV_ADMIN_TOKEN) \
	ORDERS_LIST_PUBLIC=true ADDR=127.0.0.1:4003 $(GO) run ./orders-subgraph

router: ## Run the router on 127.0.0.1:8080 in front of `make books` and `make orders`.
	$(GO) run ./router --listen 127.0.0.1:8080 \
	  --subgraph books=http://127.0.0.1:4001/query --subgraph orders=http://127.0.0.1:4003/query

clean: ## Remove build output and the local database (.data/).
	rm -rf bin out .data
