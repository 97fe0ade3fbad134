# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# Top-level packages are imported from the repository, never from site-packages.
export PYTHONPATH := $(CURDIR)
READY := $(VENV)/.ready

.PHONY: run test seed serve schema venv clean

$(READY): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	printf '#!/bin/sh\nPYTHONPATH="%s" exec "%s" -m cli "$$@"\n' "$(CURDIR)" "$(CURDIR)/$(PY)" > $(VENV)/bin/minegraph
	chmod +x $(VENV)/bin/minegraph
	touch $@

venv: $(READY)

# Seeds an empty database only: one seeded with other options (e.g. --mines 100000) is served as it is.
seed: $(READY)
	$(PY) -m cli seed --demo --if-empty

run: seed
	$(PY) -m cli serve

# The whole suite twice: on SQLite, then on PostgreSQL (TEST_PG_URL, default
# postgresql://postgres@127.0.0.1:5432/test; each test database is a fresh one).
# Without a reachable PostgreSQL the second run is skipped with the reason, except under CI=true.
test: $(READY)
	@echo "== tests on SQLite (TEST_DATABASE=sqlite) =="
	TEST_DATABASE=sqlite $(PY) -m pytest $(PYTEST_ARGS)
	@echo "== tests on PostgreSQL (TEST_DATABASE=postgresql) =="
	TEST_DATABASE=postgresql $(PY) -m pytest $(PYTEST_ARGS)

schema: $(READY)
	$(PY) -m cli export-schema schema.graphql

# The benchmark (bench/README.md): builds or reuses the demo datasets, runs every contender
# one after another on this machine, writes bench/results/<date>.md, .json and .png.
# `make bench MINES=1000000` for the 1M figures; BENCH_ARGS passes options to bench/run.py.
.PHONY: bench
MINES ?= 100000
bench: $(READY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) -m bench.run --mines $(MINES) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data

# Long runs, never part of `make test` (pytest -m soak). Faults: SIGKILL of the server during a
# stream of writes, SOAK_KILL_ROUNDS (50) times; load: mixed reads and writes at SOAK_CONNECTIONS
# (50) connections for SOAK_SECONDS (600) — on SQLite, then on PostgreSQL, like `make test`.
# Figures: $(SOAK_OUT)/faults-<db>.json and soak-<db>.json (docs/security.md, "Faults and data safety").
# Other long runs join `make soak` as prerequisites of their own (`soak: soak-<name>`).
.PHONY: soak soak-faults
SOAK_OUT ?= data/soak
soak: soak-faults
soak-faults: $(READY)
	@mkdir -p $(SOAK_OUT)
	@echo "== soak: faults and load on SQLite (TEST_DATABASE=sqlite) =="
	TEST_DATABASE=sqlite FAULT_REPORT=$(SOAK_OUT)/faults-sqlite.json SOAK_REPORT=$(SOAK_OUT)/soak-sqlite.json \
		$(PY) -m pytest -m soak tests/faults/test_fault_kill9.py tests/faults/test_soak.py $(PYTEST_ARGS)
	@echo "== soak: faults and load on PostgreSQL (TEST_DATABASE=postgresql) =="
	TEST_DATABASE=postgresql FAULT_REPORT=$(SOAK_OUT)/faults-postgresql.json \
		SOAK_REPORT=$(SOAK_OUT)/soak-postgresql.json \
		$(PY) -m pytest -m soak tests/faults/test_fault_kill9.py tests/faults/test_soak.py $(PYTEST_ARGS)

# The property tests at length (tests/test_property_*.py, marker `property`): SOAK_PROPERTY_CASES
# (20,000) Hypothesis examples of every read path against the independent recount, a quarter as
# many arbitrary schema-generated queries, and SOAK_FUZZ_CASES (3,000) hostile inputs per mutation
# and per read shape — on SQLite, then on PostgreSQL. `make test` runs the same tests with 2,000
# and 300. Figures (cases, checks, leaks, miscounts, refusals): $(SOAK_OUT)/property-<db>.json.
.PHONY: soak-property
SOAK_PROPERTY_CASES ?= 20000
SOAK_FUZZ_CASES ?= 3000
soak: soak-property
soak-property: $(READY)
	@mkdir -p $(SOAK_OUT)
	@echo "== soak: property tests on SQLite (TEST_DATABASE=sqlite) =="
	TEST_DATABASE=sqlite PROPERTY_CASES=$(SOAK_PROPERTY_CASES) FUZZ_CASES=$(SOAK_FUZZ_CASES) \
		PROPERTY_REPORT=$(SOAK_OUT)/property-sqlite.json \
		$(PY) -m pytest -m property tests/test_property_*.py $(PYTEST_ARGS)
	@echo "== soak: property tests on PostgreSQL (TEST_DATABASE=postgresql) =="
	TEST_DATABASE=postgresql PROPERTY_CASES=$(SOAK_PROPERTY_CASES) FUZZ_CASES=$(SOAK_FUZZ_CASES) \
		PROPERTY_REPORT=$(SOAK_OUT)/property-postgresql.json \
		$(PY) -m pytest -m property tests/test_property_*.py $(PYTEST_ARGS)
