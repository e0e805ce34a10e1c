# Portagent developer commands. `make run` and `make test` do all the set-up they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5200

.PHONY: run demo test lint format install install-test clean

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
run: install
	$(BIN)/portagent --port $(PORT)

## Start with the built-in stand-in model: no API key needed.
demo: install
	$(BIN)/portagent --port $(PORT) --demo

## Install everything the tests need and run the whole suite.
test: install-test
	$(BIN)/ruff check service tests
	$(BIN)/ruff format --check service tests
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check service tests
	$(BIN)/ruff format --check service tests

format: install-test
	$(BIN)/ruff check --fix service tests
	$(BIN)/ruff format service tests

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
