# The bookstore's dev loop. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go

# Local development settings (never used in a deployment).
DEV_DB_PORT     ?= 5433
DEV_ADMIN_TOKEN ?= dev-admin-token
DEV_DB          = 127.0.0.1:$(DEV_DB_PORT)/bookstore?sslmode=disable
# make seed-large, make bench and make bench-scale take more flags from these
# (e.g. BENCH_FLAGS='-baseline DIR' to measure another build's subgraphs too).
SEED_LARGE_FLAGS  ?=
BENCH_FLAGS       ?=
BENCH_SCALE_FLAGS ?=

# Container images (make images). IMAGE_BUILDER is docker or buildah; empty
# means docker when a daemon answers `docker info`, else buildah.
IMAGE_TAG       ?= dev
IMAGE_BUILDER   ?=
# buildah's storage driver; empty leaves it to containers-storage.conf.
BUILDAH_STORAGE_DRIVER ?= vfs
# The images' binaries: static, for the images' platform. Each Dockerfile
# copies bin/<os>/<arch>/<name>, or compiles it with these same flags itself
# when built with --build-arg BINARY_FROM=build (keep them in step).
IMAGE_OS        = linux
IMAGE_ARCH      = amd64
IMAGE_BIN       = bin/$(IMAGE_OS)/$(IMAGE_ARCH)
IMAGE_GOFLAGS   = -trimpath -buildvcs=false -ldflags '-s -w'
# name:Dockerfile directory:main package, one image a word.
IMAGES          = books-subgraph:books-subgraph:./books-subgraph \
                  orders-subgraph:orders-subgraph:./orders-subgraph \
                  router:router:./router \
                  migrate:migrations:./migrations/cmd/migrate
# Labels from git. The source is origin's URL without any user:password@,
# git@host:path as https://host/path; empty when there is no origin.
IMAGE_VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_REVISION  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
IMAGE_SOURCE    ?= $(shell git remote get-url origin 2>/dev/null | sed -E 's|//[^/@]*@|//|; s|^git@([^:/]+):|https://\1/|')
# dockerfile-utils (npm), pinned; npm's cache stays outside the repository.
DOCKERFILE_UTILS ?= dockerfile-utils@0.16.3
NPM_CACHE       ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/bookstore/npm

# The Postman collection (make postman): newman, pinned by router/bookstore/postman/package-lock.json,
# installed with npm ci outside the repository.
BASE_URL        ?= http://localhost:8080
POSTMAN_NPM     ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/bookstore/postman-npm

# Kubernetes (make deploy, make k8s-verify). Every kubectl call names its
# context, so a deploy never lands on whatever cluster happens to be current.
KUBECTL         ?= kubectl
KUBE_CONTEXT    ?= docker-desktop
K8S             = $(KUBECTL) --context $(KUBE_CONTEXT) -n bookstore
K8S_CACHE       ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/bookstore/k8s

# The Go modules make test and make vet cover, each with its own go.mod: the
# bookstore (.), and kustomize/, the manifests' tests, a module of their own
# so that k8s.io/* and sigs.k8s.io/kustomize stay out of the bookstore's
# go.mod. kustomize/controlplane, a third, only make k8s-tools builds.
GO_MODULES      = . kustomize

.DEFAULT_GOAL := help
.PHONY: help test chaos bench bench-scale seed-large vet fmt-check generate check-generated build ide run postman db books orders router \
        images lint-dockerfiles deploy deploy-manifests undeploy k8s-tools k8s-verify clean

help: ## List the targets.
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

test: vet fmt-check ## Run every test against a real PostgreSQL (DATABASE_URL, or a throwaway cluster).
	@rc=0; for m in $(GO_MODULES); do \
	  echo "$(GO) -C $$m test -race -count=1 ./..."; \
	  $(GO) -C $$m test -race -count=1 ./... || rc=1; \
	done; exit $$rc

chaos: ## Run the full chaos suite: the real stack under load, replicas killed, stopped and rolled, PostgreSQL stopped and crashed (~5 min); figures in out/chaos/.
	BOOKSTORE_CHAOS=full $(GO) test -count=1 -v -timeout 30m -run '^TestChaos$$' ./router/cmd/chaos/

bench: ## Measure the router: (A) overhead, (B) vs Apollo Gateway, (E) the benchmark graph and (F) a big response vs Hive and Apollo Gateway, (G) the Go benchmarks (BENCH_FLAGS='-only E,F' picks sections).
	$(GO) run ./router/cmd/bench $(BENCH_FLAGS)

bench-scale: ## Measure the contract's requests on the demo seed and on 100,000 books / 1,000,000 orders, side by side (BENCH_SCALE_FLAGS adds flags; see BENCHMARKS.md).
	$(GO) run ./router/cmd/bench -scale $(BENCH_SCALE_FLAGS)

vet: ## go vet the modules (GO_MODULES).
	@rc=0; for m in $(GO_MODULES); do \
	  echo "$(GO) -C $$m vet ./..."; \
	  $(GO) -C $$m vet ./... || rc=1; \
	done; exit $$rc

fmt-check: ## Fail when a Go file is not gofmt-formatted.
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$files" ]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi

generate: ## Regenerate the gqlgen code of both subgraphs after a schema change (go tool gqlgen generate, then graph/cmd/generate's changes to its output).
	cd books-subgraph && $(GO) tool gqlgen generate && $(GO) run ../graph/cmd/generate
	cd orders-subgraph && $(GO) tool gqlgen generate && $(GO) run ../graph/cmd/generate

check-generated: generate ## Fail when the committed gqlgen code is not what the schemas generate.
	@git diff --exit-code --stat -- books-subgraph orders-subgraph || \
	  { echo "generated code is stale: run make generate and commit"; exit 1; }

build: ## Build the binaries into bin/.
	$(GO) build -o bin/ ./books-subgraph ./orders-subgraph ./router ./migrations/cmd/migrate

ide: ## Fetch the GraphQL IDE's files (GraphiQL, React; pinned by router/bookstore/ide/_npm) into router/bookstore/ide/assets/ with npm.
	$(GO) run ./router/bookstore/ide/cmd/ideassets

run: ide ## Run the whole stack on localhost: PostgreSQL, 2 replicas of each subgraph, the router on :8080 (Ctrl-C stops all).
	$(GO) build -o bin/devstack ./router/cmd/devstack
	bin/devstack -db-port $(DEV_DB_PORT) -admin-token '$(DEV_ADMIN_TOKEN)'

postman: ## Run the Postman collection with newman against a running stack (BASE_URL, default http://localhost:8080, as make run).
	@set -e; mkdir -p '$(POSTMAN_NPM)'; \
	if ! cmp -s router/bookstore/postman/package-lock.json '$(POSTMAN_NPM)/package-lock.json' || \
	   ! cmp -s router/bookstore/postman/package.json '$(POSTMAN_NPM)/package.json' || \
	   [ ! -f '$(POSTMAN_NPM)/node_modules/newman/bin/newman.js' ]; then \
	  cp router/bookstore/postman/package.json router/bookstore/postman/package-lock.json '$(POSTMAN_NPM)/'; \
	  echo "npm ci in $(POSTMAN_NPM)"; \
	  (cd '$(POSTMAN_NPM)' && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline); \
	fi
	node '$(POSTMAN_NPM)/node_modules/newman/bin/newman.js' run router/bookstore/postman/bookstore.postman_collection.json \
	  --environment router/bookstore/postman/bookstore.postman_environment.json \
	  --env-var 'baseUrl=$(BASE_URL)' --env-var 'adminToken=$(DEV_ADMIN_TOKEN)'

seed-large: ## Load 100,000 books and 1,000,000 orders (demo data) into the make run database; SEED_LARGE_FLAGS=-reload loads again.
	$(GO) run ./migrations/cmd/seedlarge -port $(DEV_DB_PORT) $(SEED_LARGE_FLAGS)

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

images: ide ## Build the images bookstore/{books-subgraph,orders-subgraph,router,migrate}:IMAGE_TAG (docker or buildah).
	CGO_ENABLED=0 GOOS=$(IMAGE_OS) GOARCH=$(IMAGE_ARCH) $(GO) build $(IMAGE_GOFLAGS) \
	  -o $(IMAGE_BIN)/ $(foreach i,$(IMAGES),$(word 3,$(subst :, ,$(i))))
	@set -euo pipefail; \
	builder='$(IMAGE_BUILDER)'; \
	if [ -z "$$builder" ]; then \
	  if docker info >/dev/null 2>&1; then builder=docker; else builder=buildah; fi; \
	fi; \
	case "$$builder" in \
	  docker)  build=(docker build); \
	           list=(docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}') ;; \
	  buildah) buildah=(buildah $(if $(BUILDAH_STORAGE_DRIVER),--storage-driver $(BUILDAH_STORAGE_DRIVER))); \
	           build=("$${buildah[@]}" build --isolation chroot); \
	           list=("$${buildah[@]}" images --noheading --format '{{.Name}}:{{.Tag}}  {{.Size}}') ;; \
	  *) echo "IMAGE_BUILDER=$$builder: want docker or buildah" >&2; exit 2 ;; \
	esac; \
	created=$$(date -u +%Y-%m-%dT%H:%M:%SZ); \
	for image in $(IMAGES); do \
	  IFS=: read -r name dir pkg <<<"$$image"; \
	  cmd=("$${build[@]}" --platform $(IMAGE_OS)/$(IMAGE_ARCH) -f "$$dir/Dockerfile" -t "bookstore/$$name:$(IMAGE_TAG)" \
	    --build-arg BINARY_FROM=prebuilt --build-arg VERSION='$(IMAGE_VERSION)' \
	    --build-arg REVISION='$(IMAGE_REVISION)' --build-arg CREATED="$$created" \
	    --build-arg SOURCE='$(IMAGE_SOURCE)' .); \
	  echo "$${cmd[*]}"; "$${cmd[@]}"; \
	done; \
	echo "images built with $$builder:"; \
	for image in $(IMAGES); do "$${list[@]}" "bookstore/$${image%%:*}:$(IMAGE_TAG)"; done

lint-dockerfiles: ## Lint the Dockerfiles with dockerfile-utils (npm); fails on an error.
	@set -e; for f in $(foreach i,$(IMAGES),$(word 2,$(subst :, ,$(i)))/Dockerfile); do \
	  echo "dockerfile-utils lint $$f"; \
	  npm_config_cache='$(NPM_CACHE)' npm exec --yes --package=$(DOCKERFILE_UTILS) -- dockerfile-utils lint "$$f"; \
	done

deploy: images deploy-manifests ## Build the images and deploy kustomize/overlays/local to KUBE_CONTEXT (docker-desktop); wait for it.

deploy-manifests: ## Deploy kustomize/overlays/local to KUBE_CONTEXT with the images already built, and wait for every rollout.
	@echo "deploying to context $(KUBE_CONTEXT)"
	@existed=$$($(K8S) get deployments -o name 2>/dev/null); \
	set -ex; \
	$(K8S) delete job migrate --ignore-not-found --wait=true; \
	$(KUBECTL) --context $(KUBE_CONTEXT) apply -k kustomize/overlays/local; \
	if [ -n "$$existed" ]; then $(K8S) rollout restart deployment; fi
	$(K8S) wait --for=condition=complete job/migrate --timeout=300s
	$(K8S) rollout status statefulset/postgres --timeout=300s
	for d in books-subgraph orders-subgraph router; do $(K8S) rollout status deployment/$$d --timeout=300s || exit 1; done
	@echo; echo "the bookstore is up: http://localhost:8080/graphql (IDE in a browser), http://localhost:8080/books"

undeploy: ## Delete what make deploy made from KUBE_CONTEXT: the namespace, the database's volume with it.
	$(KUBECTL) --context $(KUBE_CONTEXT) delete -k kustomize/overlays/local --ignore-not-found --wait=true

k8s-tools: ## Build Kubernetes 1.37.2 (apiserver, controller-manager, scheduler, kubectl) and kwok into K8S_CACHE; slow once.
	@kustomize/controlplane/install.sh '$(K8S_CACHE)' >/dev/null

k8s-verify: ## Apply every overlay to a real Kubernetes API server (etcd + kwok's fake nodes) and wait for the rollouts.
	@command -v etcd >/dev/null || { echo "etcd is missing: apt-get install etcd-server" >&2; exit 1; }
	env $$(kustomize/controlplane/install.sh '$(K8S_CACHE)') \
	  $(GO) -C kustomize test -count=1 -v -timeout 20m -run '^TestAgainstAPIServer$$' .

clean: ## Remove build output and the local database (.data/).
	rm -rf bin out .data
