# One task runner: the README and CI call these targets verbatim.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup run test lint typecheck proto gen gen-check pytest bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(VENV)/.installed node_modules/.installed ## install everything the service and tests need
	@tools/ensure-postgres

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e clients/python -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup ## run the service on its embedded PostgreSQL (gRPC on 127.0.0.1:50051)
	$(BIN)/consentd serve

test: setup lint typecheck proto pytest ## everything CI checks

lint: setup ## ruff lint and format check
	$(BIN)/ruff check service tests bench migrations tools
	$(BIN)/ruff format --check service tests bench migrations tools

typecheck: setup ## mypy --strict on the package
	$(BIN)/mypy

proto: setup gen-check ## buf lint + format, and generated code matches protos/
	buf lint
	buf format --diff --exit-code

gen: setup ## regenerate clients/ from protos/
	buf generate

gen-check: gen ## fail if the committed generated code differs from a fresh generation
	@git diff --exit-code --stat -- clients || { echo "generated code is stale: run 'make gen' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- clients)" || { git status --short -- clients; echo "generated files not committed"; exit 1; }

pytest: setup ## unit, integration and end-to-end tests (starts its own PostgreSQL)
	$(BIN)/python -m pytest --cov --cov-report=term

bench: setup ## campaign benchmark: service vs baselines in one table (minutes; not a test)
	$(BIN)/python bench/campaign.py $(BENCH_ARGS)

clean: ## remove installed tools and caches
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage
