# Set-up is part of every target: a fresh machine with Python 3.11+ needs nothing else.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# The suite runs in two pytest-xdist processes (the scenario tests replay months of demo time and
# are CPU-bound); TEST_WORKERS=0 runs it in one process. The slowest tests are listed at the end.
TEST_WORKERS ?= 2

.PHONY: demo try test bench lint clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is needed (none of python3.13, python3.12, python3.11, python3 is)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-lint: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lint,oscal]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/aims demo

try: $(VENV)/.installed
	$(BIN)/aims try

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=25 $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python bench/engine.py

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src/aims_workflows

clean:
	rm -rf $(VENV) aims-demo.db aims-demo.db-wal aims-demo.db-shm aims-demo.yaml
