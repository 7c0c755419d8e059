# Two entry points on a fresh machine (Python 3.11, pip, gcc):  make reproduce  |  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := environments/requirements-cpu.txt environments/constraints-cpu.txt
STAMP := $(VENV)/.fwbench-installed
SNAKEMAKE_ARGS ?=

.PHONY: setup test test-fast reproduce clean-venv

setup: $(STAMP)

# Rebuilt only when the lock or the package metadata changes: near-instant when up to date.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r environments/requirements-cpu.txt -c environments/constraints-cpu.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

reproduce: setup
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --cores all --profile workflow/profiles/default $(SNAKEMAKE_ARGS)

clean-venv:
	rm -rf $(VENV)
