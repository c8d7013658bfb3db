# The two commands of the README: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8765

.PHONY: run test test-deps lint bench setup clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	@if [ -f build_extension.py ]; then $(PY) build_extension.py --server-url http://$(HOST):$(PORT); fi
	$(VENV)/bin/passerelle serve --host $(HOST) --port $(PORT)

lint: setup
	$(PY) -m ruff check .

test-deps:
	bash scripts/test-deps.sh

test: setup test-deps
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) dist .pytest_cache .ruff_cache
