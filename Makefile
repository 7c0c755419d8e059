# Two entry points on a fresh machine (Python 3.11, pip, gcc):  make reproduce  |  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := environments/requirements-cpu.txt environments/constraints-cpu.txt
STAMP := $(VENV)/.fwbench-installed
SNAKEMAKE_ARGS ?=
# The reference validators (frictionless, mlcroissant) live in their own venv: see environments/requirements-dev.txt.
DEV_VENV := .venv-dev
DEV_LOCK := environments/requirements-dev.txt environments/constraints-dev.txt
DEV_STAMP := $(DEV_VENV)/.fwbench-installed

.PHONY: setup setup-dev setup-cluster test test-fast cluster-test validate-dataset reproduce paper reference clean-venv
# snakemake picks up profiles/default (-> workflow/profiles/default): all cores, bench_slot=1, keep-going.
SNAKEMAKE := PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake

setup: $(STAMP)

# Rebuilt only when the lock or the package metadata changes: near-instant when up to date.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r environments/requirements-cpu.txt -c environments/constraints-cpu.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The cluster executor plugins live in .venv-cluster, layered on .venv: see environments/README.md.
CLUSTER_VENV := .venv-cluster
CLUSTER_LOCK := environments/requirements-cluster.txt environments/constraints-cluster.txt
CLUSTER_STAMP := $(CLUSTER_VENV)/.fwbench-installed

setup-dev: $(DEV_STAMP)

$(DEV_STAMP): $(DEV_LOCK)
	test -x $(DEV_VENV)/bin/python || $(PYTHON) -m venv $(DEV_VENV)
	$(DEV_VENV)/bin/pip install --quiet -r environments/requirements-dev.txt -c environments/constraints-dev.txt
	touch $(DEV_STAMP)

setup-cluster: $(CLUSTER_STAMP)

$(CLUSTER_STAMP): $(CLUSTER_LOCK) $(STAMP)
	test -x $(CLUSTER_VENV)/bin/python || $(PYTHON) -m venv $(CLUSTER_VENV)
	$(CLUSTER_VENV)/bin/python -c "import site, sys; print(f'import site; site.addsitedir(\'$(CURDIR)/$(VENV)/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages\')')" \
	  > "$$($(CLUSTER_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/_fwbench_base.pth"
	$(CLUSTER_VENV)/bin/pip install --quiet -r environments/requirements-cluster.txt -c environments/constraints-cpu.txt \
	  -c environments/constraints-cluster.txt
	touch $(CLUSTER_STAMP)

test: setup setup-dev setup-cluster
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: setup setup-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow and not cluster"

cluster-test: setup setup-cluster   ## the workflow through a one-node Slurm cluster on this machine (needs root)
	$(BIN)/python -m pytest -m cluster -s tests/test_slurm_cluster.py

reproduce: setup   ## pull the shipped reference runs, measure this host beside them, build everything
	$(BIN)/dvc pull --quiet
	$(SNAKEMAKE) --cores all $(SNAKEMAKE_ARGS)
	@$(BIN)/fwbench campaign hint default

paper: setup       ## the paper from the runs already shipped: no measuring
	$(BIN)/dvc pull --quiet
	$(SNAKEMAKE) --cores all --config measure=false $(SNAKEMAKE_ARGS)

reference: setup   ## maintainers, quiet machine: measure a campaign of the default grid (or finish this host's unfinished one), version it in DVC, push, stage
	@start=$$(date +%s); \
	$(SNAKEMAKE) --cores all --config grid=default $(SNAKEMAKE_ARGS) || exit 1; \
	dir=$$($(BIN)/fwbench campaign list default --newest) || exit 1; \
	echo "default grid + paper: $$(( $$(date +%s) - start )) s wall, $$(ls $$dir/*/rep-*.json | wc -l) run records in $$dir"; \
	$(BIN)/dvc add $$dir && $(BIN)/dvc commit --force --quiet && $(BIN)/dvc push && \
	git add $$dir.dvc $$(dirname $$dir)/.gitignore dvc.lock data/dvc-store && \
	echo "staged: git commit -m 'campaign $$(basename $$dir) of the default grid on system $$(basename $$(dirname $$dir))'"

validate-dataset: setup-dev   ## the reference validators on the built dataset (after make reproduce or make paper)
	cd data/parquet && $(CURDIR)/$(DEV_VENV)/bin/frictionless validate datapackage.json
	cd data/analysis && $(CURDIR)/$(DEV_VENV)/bin/frictionless validate datapackage.json
	$(DEV_VENV)/bin/mlcroissant validate --jsonld data/croissant.json

clean-venv:
	rm -rf $(VENV) $(DEV_VENV) $(CLUSTER_VENV)
