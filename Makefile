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

seed: $(READY)
	$(PY) -m cli seed --demo

run: seed
	$(PY) -m cli serve

test: $(READY)
	$(PY) -m pytest $(PYTEST_ARGS)

schema: $(READY)
	$(PY) -m cli export-schema schema.graphql

clean:
	rm -rf $(VENV) data
