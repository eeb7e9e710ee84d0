# Boomerang: `make demo` to try it, `make test` to check it. Nothing else to install by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# pytest workers: one per core (`make test TEST_WORKERS=0` runs in one process).
TEST_WORKERS ?= auto

.PHONY: demo test lint typecheck structure pytest browser bench conformance-spark install install-dev clean help

help:
	@echo "make demo   install into $(VENV), load the demo company (once), serve on http://$${BOOMERANG_HOST:-127.0.0.1}:$${BOOMERANG_PORT:-8000}"
	@echo "make test   install with dev extras, run ruff, mypy, the structure check and the whole pytest suite"
	@echo "make bench  run the benchmarks under bench/"
	@echo "make conformance-spark  run the analytics conformance tests on Spark in local mode too (needs Java 17)"
	@echo "make clean  remove $(VENV), caches and ./var"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/boomerang init
	$(BIN)/boomerang demo --if-empty
	$(BIN)/boomerang serve

# The browser tests drive Debian's Chromium; install it when we may (root with apt-get).
browser:
	@if [ -x "$(CHROMIUM)" ]; then \
		echo "browser: $(CHROMIUM) found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "browser: installing chromium with apt-get"; \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) || \
		echo "browser: could not install chromium; the browser tests will be skipped"; \
	else \
		echo "browser: $(CHROMIUM) missing and cannot be installed here; the browser tests will be skipped"; \
	fi

lint: install-dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --durations=20

test: lint typecheck structure pytest

# File and function sizes, domains importing each other, import cycles (limits in the script).
structure: install-dev
	$(BIN)/python tools/structure.py

bench: install-dev
	$(BIN)/python bench/cli_start.py
	$(BIN)/python bench/accounts_page.py

# The same analytics on Spark in local mode (PySpark is large: not part of `make test`).
conformance-spark: install-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	BOOMERANG_TEST_SPARK=1 $(BIN)/python -m pytest -q tests/analytics/test_sources.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
