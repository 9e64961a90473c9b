# Two commands on a fresh machine with only Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

## demo: set up, initialise the embedded SQLite database, run the main job, serve the dashboard
demo: $(STAMP_RUN)
	$(BIN)/aicmo init
	$(BIN)/aicmo demo

## chromium: the browser the browser tests drive (Debian's package, not a download)
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
	    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: apt-get could not install chromium; the browser tests will be skipped"; \
	else \
	  echo "note: Chromium is not installed, so the browser tests will be skipped."; \
	  echo "      Install it with: sudo apt-get install -y chromium   (Debian/Ubuntu)"; \
	fi

## test: set up with the dev extras, then ruff, mypy and the whole suite
test: $(STAMP_DEV) chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --durations=15

unit: $(STAMP_DEV)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP_DEV)
	$(BIN)/python bench/import_csv.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
