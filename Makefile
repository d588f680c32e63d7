# One task runner: the README and CI call these targets verbatim.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
# gRPC fork handlers off in every process started from here (see service/consentd/__init__.py).
export GRPC_ENABLE_FORK_SUPPORT := false

.PHONY: help setup service-setup run demo test lint typecheck proto gen gen-check pytest fuzz bench clean proto-baseline clients ha-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: service-setup ## install everything the service and tests need
	@tools/ensure-client-toolchains
	@tools/ensure-test-tools

# What running the service needs, and no more: `make run` pulled Go, a JDK and Chromium (the
# tests' and the client examples' tools) before it would serve (probe HI).
service-setup: $(VENV)/.installed node_modules/.installed web/demo/dist/banner.js web/preferences/dist/preferences.js ## install what the service alone needs (make run)
	@tools/ensure-postgres

# Debian ships venv's ensurepip apart, in python3-venv: installed with it when missing.
$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || { $(PYTHON) -c 'import ensurepip' 2>/dev/null || tools/ensure-apt python3-venv; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e clients/python -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The demo banner: plain TypeScript and the generated client, bundled by esbuild (from tsx).
web/demo/dist/banner.js: node_modules/.installed web/demo/src/banner.ts $(wildcard clients/typescript/src/*.ts clients/typescript/src/gen/consent/v1/*.ts)
	esbuild web/demo/src/banner.ts --bundle --format=iife --target=es2022 --outfile=$@ --log-level=warning

# The preference centre (CONSENTD_PREFERENCES): the same way.
web/preferences/dist/preferences.js: node_modules/.installed $(wildcard web/preferences/src/*.ts) $(wildcard clients/typescript/src/*.ts clients/typescript/src/gen/consent/v1/*.ts)
	esbuild web/preferences/src/preferences.ts --bundle --format=iife --target=es2022 --outfile=$@ --log-level=warning

run: service-setup ## run the service on its embedded PostgreSQL (gRPC :50051, browsers :8080)
	$(BIN)/consentd serve

demo: service-setup ## run the service with the demo cookie banner at http://127.0.0.1:8080/demo/
	CONSENTD_DEMO=true $(BIN)/consentd serve

test: setup lint typecheck proto pytest ## everything CI checks

lint: setup ## ruff lint and format check; TypeScript type check of the client, its Node example and the demo
	$(BIN)/ruff check service tests bench migrations tools clients/python
	$(BIN)/ruff format --check service tests bench migrations tools clients/python
	tsc -p web/demo
	tsc -p web/preferences
	tsc -p clients/typescript
	@test -z "$$(gofmt -l clients/go/example)" || { gofmt -l clients/go/example; echo "gofmt the Go example"; exit 1; }

typecheck: setup ## mypy --strict on the package and the Python client (and its example)
	$(BIN)/mypy
	$(BIN)/mypy --strict clients/python/example.py

proto: setup gen-check ## buf lint + format + breaking (vs protos/baseline.binpb), generated code matches
	buf lint
	buf format --diff --exit-code
	buf breaking --against protos/baseline.binpb

# The contract released clients rely on. `buf breaking` compares protos/ with it; after a
# deliberate breaking change (a new major version, agreed with every client), accept it here
# and commit protos/baseline.binpb with the change that needs it.
proto-baseline: setup ## accept protos/ as the new compatibility baseline (deliberate breaks only)
	buf build --exclude-source-info -o protos/baseline.binpb

gen: setup ## regenerate clients/ from protos/
	buf generate

gen-check: gen ## fail if the committed generated code differs from a fresh generation
	@git diff --exit-code --stat -- clients || { echo "generated code is stale: run 'make gen' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- clients)" || { git status --short -- clients; echo "generated files not committed"; exit 1; }

clients: setup ## build the Go and Java client examples (build/clients; the e2e tests run them)
	clients/go/build-example
	clients/java/build-example >/dev/null

# The fault suite (kill -9 of servers and of its own PostgreSQL) runs in a process of its own,
# after the rest: a process it kills leaves nothing behind in the others' session.
# The generated-input tests run FUZZ_CASES cases per RPC and HISTORIES contact-point histories
# here; `make fuzz` runs the full 2,000 of each (CI runs both). Two worker processes (xdist, a
# test file at a time), each with its own PostgreSQL: 3.5 min instead of 9 on 2 cores.
FUZZ_CASES ?= 200
HISTORIES ?= 300
pytest: setup ## unit, integration and end-to-end tests (starts its own PostgreSQL)
	CONSENTD_FUZZ_CASES=$(FUZZ_CASES) CONSENTD_HISTORIES=$(HISTORIES) $(BIN)/python -m pytest -n 2 --dist loadfile --cov --cov-report=term --durations=15 --deselect tests/e2e/test_faults.py
	$(BIN)/python -m pytest -p no:cacheprovider tests/e2e/test_faults.py

fuzz: setup ## the generated-input tests at full size: 2,000 cases per RPC on both ports, 2,000 histories
	CONSENTD_FUZZ_CASES=2000 CONSENTD_HISTORIES=2000 $(BIN)/python -m pytest -p no:cacheprovider -q tests/e2e/test_fuzzing.py tests/integration/test_contact_point_rule.py

# Patroni + etcd + HAProxy on 127.0.0.1 (tools/ha_cluster.py): failover, switchover, replica loss.
ha-test: setup ## high-availability suite (a few minutes; installs patroni, etcd-server, haproxy when missing)
	@tools/ensure-ha-tools
	rm -f build/ha-report.txt
	CONSENTD_HA_TESTS=1 GRPC_VERBOSITY=ERROR $(BIN)/python -m pytest tests/ha -p no:cacheprovider -s -q
	@cat build/ha-report.txt

bench: setup ## campaign benchmark: service vs baselines in one table (minutes; not a test)
	@tools/ensure-bench-tools
	$(BIN)/python bench/campaign.py $(BENCH_ARGS)

clean: ## remove installed tools and caches
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage web/demo/dist build/clients
