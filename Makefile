# Portagent developer commands. `make run` and `make test` do all the set-up they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5200

.PHONY: run demo test lint format install install-test clean build-web maybe-build-web web-test bench

# The web UI: web/ (TypeScript, Vite) builds into service/web/dist, which the server serves and
# the wheel ships. npm ci runs when package-lock.json is newer than the last install; the build
# runs when a source is newer than the built index.html.
WEB_DIST := service/web/dist
WEB_INSTALLED := web/node_modules/.portagent-installed
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	$(wildcard web/index.html web/package.json web/vite.config.ts web/tsconfig.json)
NODE_CHECK := node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	bash scripts/install-test-deps.sh
	bash scripts/install-deploy-tools.sh

## Install and start the server on $(PORT) (needs LLM_PROVIDER_KEY, or use `make demo`).
run: install maybe-build-web
	$(BIN)/portagent --port $(PORT)

## Start with the built-in stand-in model: no API key needed.
demo: install maybe-build-web
	$(BIN)/portagent --port $(PORT) --demo

## Install everything the tests need and run the whole suite.
## The browser tests (tests/web) fail instead of skipping here: CI must not lose the UI quietly.
test: install-test build-web
	$(BIN)/ruff check service tests
	$(BIN)/ruff format --check service tests
	cd web && npm test
	PORTAGENT_REQUIRE_BROWSER=1 $(BIN)/pytest

## Benchmarks of the gateway's own cost (docs/benchmarks.md), about 15 minutes on 2 cores.
## Pick scenarios and size with ARGS, e.g. `make bench ARGS="--quick relay latency"`.
bench: install-test
	$(BIN)/python -m bench $(ARGS)

$(WEB_INSTALLED): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_DIST)/index.html: $(WEB_INSTALLED) $(WEB_SOURCES)
	cd web && npm run build
	touch $@

## Build the web UI into service/web/dist (needs Node.js 20+ and npm).
build-web:
	@command -v npm >/dev/null 2>&1 && $(NODE_CHECK) || { \
		echo "Error: building the web UI needs Node.js 20 or newer with npm (see README, Development)." >&2; \
		exit 1; }
	@$(MAKE) --no-print-directory $(WEB_DIST)/index.html

# `make run` and `make demo` build the UI when Node is there, and otherwise start without it.
maybe-build-web:
	@if command -v npm >/dev/null 2>&1 && $(NODE_CHECK); then \
		$(MAKE) --no-print-directory $(WEB_DIST)/index.html; \
	else \
		echo "Warning: Node.js 20+ not found: starting without the web UI (the API works)." >&2; \
	fi

## The UI's unit tests (Vitest).
web-test: build-web
	cd web && npm test

lint: install-test
	$(BIN)/ruff check service tests
	$(BIN)/ruff format --check service tests

format: install-test
	$(BIN)/ruff check --fix service tests
	$(BIN)/ruff format service tests

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache $(WEB_DIST) web/node_modules
