# Shared state of the workflow: the validated grid, this host's system id, the paths of every
# stage and the default target. Everything here is read once, when the workflow is parsed,
# before any job runs; a bad grid stops here with a message naming file, field, allowed values.

import importlib
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

from fwbench import grid as fwgrid
from fwbench.accuracy.plan import accuracy_command
from fwbench.cli import COMMAND_MODULES
from fwbench.harness.fingerprint import system_id

min_version("9.0")

GRIDS_DIR = Path(workflow.basedir) / "workflow" / "grids"
try:
    GRID = fwgrid.load_grid(config["grid"], grids_dir=GRIDS_DIR, validate=validate, cores=config["cores"])
except fwgrid.GridError as exc:
    raise WorkflowError(str(exc)) from None


def config_flag(key: str) -> bool:
    """A yes/no config value; `--config key=false` arrives as the string 'false'."""
    value = str(config[key]).lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise WorkflowError(f"--config {key}={config[key]!r}: allowed: true, false")
    return value in ("true", "1", "yes")


MEASURE = config_flag("measure")
SYSTEM_ID = config["system_id"] or system_id()
CELLS = fwgrid.cells_by_id(GRID, cores=config["cores"])  # cell id -> GridCell, in grid order
JOBS = fwgrid.expand_jobs(GRID, cores=config["cores"])  # repetition-major: the interleaved order

RAW_ROOT = "data/raw"
RAW = f"{RAW_ROOT}/{GRID.name}/{SYSTEM_ID}"  # this host's runs of this grid (a DVC-tracked dir)
# measure=false builds everything from the runs already present (a fresh clone with the shipped
# reference runs), without measuring this host.
RUN_RECORDS = [f"{RAW}/{job.cell.cell_id}/rep-{job.repetition}.json" for job in JOBS] if MEASURE else []
# The grid's optional accuracy track: one `fwbench accuracy` job per framework x model x seed.
ACCURACY = {job.cell.cell_id: job for job in fwgrid.accuracy_jobs(GRID)}
ACCURACY_RECORDS = [f"{RAW}/{cell_id}/rep-0.json" for cell_id in ACCURACY] if MEASURE else []
RUN_RECORDS += ACCURACY_RECORDS
# Runs already present from other hosts or grids (e.g. `dvc pull`ed reference runs) are pooled.
POOLED_RECORDS = sorted(set(str(p) for p in Path(RAW_ROOT).glob("*/*/*/rep-*.json")) - set(RUN_RECORDS))
COMPILE_CACHE = f".cache/inductor/{GRID.name}"  # one torch.compile cache per grid
LOGS = f"logs/{GRID.name}"

DB = "data/results.duckdb"
PARQUET = "data/parquet"
ANALYSIS = "data/analysis"
PAPER_BUILD = "paper/build"
FIGURES = f"{PAPER_BUILD}/figures"
REPORT_HTML = f"{PAPER_BUILD}/report.html"
PAPER_GENERATED = f"{PAPER_BUILD}/generated"
PAPER = f"{PAPER_BUILD}/paper.pdf"
PAPER_SOURCES = sorted(str(p) for p in Path("paper").rglob("*.typ") if PAPER_BUILD not in str(p))


def fwbench_commands() -> set[str]:
    """Subcommands the installed package provides (a stage module may not exist yet)."""
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name).register(sub)
        except ImportError:
            continue
    return set(sub.choices)


# The default target is the newest stage whose command exists: the paper, else figures, ...
STAGE_TARGETS = {"paper": [PAPER], "figures": [FIGURES], "analyze": [ANALYSIS], "ingest": [DB], "run": RUN_RECORDS}
_COMMANDS = fwbench_commands()
DEFAULT_TARGET = next((t for cmd, t in STAGE_TARGETS.items() if cmd in _COMMANDS), RUN_RECORDS)

# Timing runs must never overlap. The profiles set `--resources bench_slot=1`; a plain
# `snakemake --cores all` without a profile gets the same limit here.
if "bench_slot" not in workflow.global_resources:
    workflow.register_resource("bench_slot", 1)


wildcard_constraints:
    cell="|".join(CELLS),  # only this grid's cells: records of removed cells stay plain inputs
    rep=r"\d+",


localrules:
    all,
    runs,
    dataset,
    analysis,
    figures,
    paper,

