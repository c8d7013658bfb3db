# The two commands of the README: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8765

.PHONY: run test check test-busy test-deps lint bench screenshots setup clean

# Python may keep compiled modules (some systems forbid it in the environment): every test
# process and every service or command the tests start would otherwise compile the project,
# and pytest rewrite every test module, from source each time.
unexport PYTHONDONTWRITEBYTECODE

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

# Tests run in random order (pytest-randomly; the seed is printed, and
# PYTEST_ARGS=--randomly-seed=N replays one order), on two workers (pytest-xdist), a module
# at a time each: a module's browser, servers or AT Protocol network start once.
WORKERS ?= 2
test: setup test-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(WORKERS) --dist loadfile $(PYTEST_ARGS)

# The inner loop: lint, then every test that needs neither a browser nor the local AT Protocol
# network (those run in `make test`), the fuzzers asking fewer examples than in `make test`.
# Four workers on two cores: these tests spend half their time waiting (a stand-in's slow
# answer, a shortened Mastodon day, a client's timeout), which the others fill.
CHECK_WORKERS ?= 4
check: setup
	$(PY) -m ruff check .
	PASSERELLE_FUZZ_EXAMPLES=$${PASSERELLE_FUZZ_EXAMPLES:-12} $(PY) -m pytest -q -n $(CHECK_WORKERS) \
		--dist loadfile -m "not e2e and not devenv" $(PYTEST_ARGS)

# The suite twice with every core busy (stress-ng) and in two random orders.
test-busy:
	bash scripts/test-busy.sh 2

bench: setup
	$(PY) -m benchmarks

# The README's pictures, taken by the test suite's browser (tests/e2e/test_screenshots.py).
screenshots: setup test-deps
	PASSERELLE_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -p no:randomly tests/e2e/test_screenshots.py -k "not readme"

clean:
	rm -rf $(VENV) dist .pytest_cache .ruff_cache
