# Hearth: `make run` serves the demo room; `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m server.devrun

test: install
	bash scripts/services.sh
	$(PY) -m pytest -n 2 --dist loadgroup -q --reruns 2 --reruns-delay 2 --durations=25

lint: install
	$(VENV)/bin/ruff check server tests bench
	$(VENV)/bin/mypy

# Both load-generator clients (issue #16: the targets hold under both); more flags in
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--before main --quick".
bench: install
	bash scripts/services.sh
	$(PY) bench/run.py --client both $(BENCH_ARGS)

clean:
	rm -rf $(VENV) hearth.db* .pytest_cache
