# hedui — two commands on a fresh machine: `make demo` and `make test`.
# Every target sets the project up first (uv from PyPI, .venv from uv.lock,
# Debian's chromium and CJK fonts for the browser/PDF parts).
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := .tools/bin/uv
PY := .venv/bin/python
HEDUI := .venv/bin/hedui
SIZE ?= small

.PHONY: setup bytecode system-deps demo test test-ops test-all bench bench-on-demand bench-linkage lint clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON) --quiet --compile-bytecode
	touch $@

# the project's own modules compiled too (uv compiles the installed packages): where PYTHONDONTWRITEBYTECODE
# is set, nothing else would, and every process (run, source workers, page workers, tests) would compile
# the same sources again (≈ 7 CPU-s of imports per process without bytecode, ≈ 2.5 s with it)
bytecode: .venv/.synced
	@$(PY) -m compileall -q -j 0 hedui connectors matching dags bench tests >/dev/null

system-deps:
	@bash .ci/system-deps.sh

setup: .venv/.synced bytecode system-deps

demo: setup
	$(HEDUI) demo --workdir .work/demo --households 200

# two workers (pytest-xdist), whole files to a worker so a module's fixture runs once (each worker has its own
# Airflow home, tests/conftest.py); a single file is still `$(PY) -m pytest -q tests/test_x.py`
test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile

# the operations suites: built wheel in a fresh venv, the DAG under Celery+PostgreSQL, kill and re-run
test-ops: setup
	$(PY) -m pytest -q -m ops

test-all: setup
	$(PY) -m pytest -q -m ''

lint: setup
	.venv/bin/ruff check .

bench: setup
	$(UV) sync --locked --quiet --compile-bytecode --group bench
	touch .venv/.synced
	$(PY) -m bench.pipeline --size $(SIZE)

bench-on-demand: setup
	$(PY) -m bench.on_demand --households $(or $(HOUSEHOLDS),1000) -n $(or $(N),20)

bench-linkage: setup
	$(UV) sync --locked --quiet --compile-bytecode --group bench
	touch .venv/.synced
	$(PY) -m bench.linkage

clean:
	rm -rf .work .airflow
