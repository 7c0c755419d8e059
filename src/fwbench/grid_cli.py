"""`fwbench grid`: list, validate and expand the experiment grids, and estimate their wall time.

The workflow and this command plan grids through fwbench.jobs, so `fwbench grid jobs NAME` shows
exactly the jobs (speed runs and the accuracy track) whose records the workflow will produce.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench.paths import GRIDS_DIR, RAW_DIR

# Snakemake's own cost between two local jobs (scheduling, spawning the shell), measured here.
JOB_OVERHEAD_S = 0.6


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grid", help="list, validate, expand experiment grids; estimate wall time",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--grids-dir", default=str(GRIDS_DIR), help="directory of grid files (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=None, help="resolve threads 'all' for this many cores")
    sub = parser.add_subparsers(dest="grid_command", required=True, metavar="ACTION")
    sub.add_parser("list", help="every grid with its version, cell count and job count per kind").set_defaults(func=_list)
    for name, func, text in (
        ("validate", _validate, "validate a grid; exit 2 with file, field and allowed values if bad"),
        ("show", _show, "a grid's version, hash, protocol, cell and job counts (per kind)"),
        ("cells", _cells, "the grid's speed cells as TSV (cell_id, block, parameters, protocol)"),
        ("jobs", _jobs, "the grid's jobs of every kind in run order as TSV (kind, repetition, cell_id)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("grid", help="grid name (workflow/grids/NAME.yaml) or path to a grid file")
        p.set_defaults(func=func)
    est = sub.add_parser("estimate", help="wall-time estimate from run records already measured on this host")
    est.add_argument("grid", help="grid name or path")
    est.add_argument("--raw", default=str(RAW_DIR), help="raw run directory to learn durations from")
    est.add_argument("--system-id", default=None, help="only records of this system id (default: this host)")
    est.set_defaults(func=_estimate)


def _load(args: argparse.Namespace) -> fwgrid.Grid | None:
    try:
        return fwgrid.load_grid(args.grid, grids_dir=args.grids_dir, cores=args.cores)
    except fwgrid.GridError as exc:
        print(f"fwbench grid: {exc}", file=sys.stderr)
        return None


def _list(args: argparse.Namespace) -> int:
    status = 0
    for name in fwgrid.available_grids(args.grids_dir):
        try:
            grid = fwgrid.load_grid(name, grids_dir=args.grids_dir, cores=args.cores)
        except fwgrid.GridError as exc:
            print(f"{name}\tINVALID\t{exc}")
            status = 2
            continue
        print(f"{name}\tv{grid.version}\t{len(fwgrid.expand_cells(grid))} cells\t{_job_counts(fwjobs.plan(grid))}")
    return status


def _job_counts(plan: fwjobs.Plan) -> str:
    """'160 jobs (140 speed, 20 accuracy)'."""
    counts = plan.counts()
    return f"{sum(counts.values())} jobs ({', '.join(f'{n} {kind}' for kind, n in counts.items())})"


def _validate(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    print(f"{grid.path}: valid ({_job_counts(fwjobs.plan(grid))})")
    return 0


def _show(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    cells = fwgrid.expand_cells(grid)
    plan = fwjobs.plan(grid)
    print(json.dumps({
        "name": grid.name, "path": str(grid.path), "version": grid.version, "hash": grid.hash,
        "repetitions": grid.repetitions, "seed": grid.seed, "protocol": grid.protocol.__dict__,
        "blocks": {b.name: sum(gc.block == b.name for gc in cells) for b in grid.blocks},
        "cells": len(cells), "accuracy_cells": len({job.cell_id for job in plan.accuracy}),
        "jobs": len(plan.jobs), "jobs_by_kind": plan.counts(),
    }, indent=1))
    return 0


CELL_COLUMNS = ("framework", "mode", "model", "size", "phase", "batch_size", "seq_len", "device", "threads", "dtype",
                "variant", "runtime", "backend")


def _cells(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    print("\t".join(("cell_id", "block", *CELL_COLUMNS, "warmup", "steps", "timeout")))
    for gc in fwgrid.expand_cells(grid):
        values = [str(getattr(gc.cell, c)) for c in CELL_COLUMNS]
        p = gc.protocol
        print("\t".join((gc.cell_id, gc.block, *values, str(p.warmup), str(p.steps), str(p.timeout))))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    print("kind\trepetition\tcell_id")
    for job in fwjobs.plan(grid).jobs:
        print(f"{job.kind}\t{job.repetition}\t{job.cell_id}")
    return 0


# ---------------------------------------------------------------------------------------------
# Wall-time estimate


@dataclass(frozen=True)
class Estimate:
    """Predicted wall time of a grid on one host, from durations of runs already measured there.

    Cells of every job kind count: speed cells (one job per repetition) and accuracy cells.
    """

    jobs: int
    seconds: float
    measured_cells: int
    guessed_cells: int
    unknown_cells: int


def record_kind(record: dict[str, Any]) -> str:
    """The job kind that wrote a record (fwbench.jobs.KINDS)."""
    return fwjobs.ACCURACY if record.get("kind") == fwjobs.ACCURACY else fwjobs.SPEED


def run_durations(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """cell id -> {'cold': [...], 'warm': [...]} process durations in seconds (finished - started).

    'cold' holds runs that started with a cold torch.compile cache (the first repetition of a
    compile cell in a grid); every other run counts as 'warm'.
    """
    out: dict[str, dict[str, list[float]]] = {}
    for r in records:
        seconds = (datetime.fromisoformat(r["finished_at"]) - datetime.fromisoformat(r["started_at"])).total_seconds()
        state = "cold" if r.get("compile_cache", {}).get("state") == "cold" else "warm"
        out.setdefault(r["cell_id"], {"cold": [], "warm": []})[state].append(seconds)
    return out


def _cell_seconds(d: dict[str, list[float]], runs: int) -> float:
    """One cold run (if the cell has a cold-cache cost) plus warm runs for the other runs of the cell."""
    cold = statistics.median(d["cold"]) if d["cold"] else None
    warm = statistics.median(d["warm"]) if d["warm"] else None
    if cold is not None and warm is not None:
        return cold + (runs - 1) * warm
    return runs * (cold if cold is not None else warm or 0.0)


Similar = tuple[str, str, str, str]  # (job kind, framework, mode, model)


def estimate(grid: fwgrid.Grid, records: list[dict[str, Any]], cores: int | None = None,
             overhead_s: float = JOB_OVERHEAD_S) -> Estimate:
    """Sum over the grid's cells (every job kind) of their measured run durations plus Snakemake's per-job overhead.

    A compile cell costs one cold-cache run and warm runs for its other repetitions. A cell
    without records borrows the durations of records of the same job kind, framework, mode and
    model (any size, phase or threads); with none of those either it counts as unknown (0 s).
    """
    durations = run_durations(records)
    similar: dict[Similar, dict[str, list[float]]] = {}
    for r in records:
        c = r["cell"]
        pooled = similar.setdefault((record_kind(r), c["framework"], c["mode"], c["model"]), {"cold": [], "warm": []})
        for state in ("cold", "warm"):
            pooled[state].extend(durations[r["cell_id"]][state])
    plan = fwjobs.plan(grid, cores)
    runs_per_cell: dict[str, int] = {}
    cell_of: dict[str, Similar] = {}
    for job in plan.jobs:
        runs_per_cell[job.cell_id] = runs_per_cell.get(job.cell_id, 0) + 1
        cell_of[job.cell_id] = (job.kind, job.cell.framework, job.cell.mode, job.cell.model)
    total, measured, guessed, unknown = 0.0, 0, 0, 0
    for cell_id, runs in runs_per_cell.items():
        if cell_id in durations:
            per_cell, measured = _cell_seconds(durations[cell_id], runs), measured + 1
        elif cell_of[cell_id] in similar:
            per_cell, guessed = _cell_seconds(similar[cell_of[cell_id]], runs), guessed + 1
        else:
            per_cell, unknown = 0.0, unknown + 1
        total += per_cell + runs * overhead_s
    return Estimate(len(plan.jobs), total, measured, guessed, unknown)


def _estimate(args: argparse.Namespace) -> int:
    from fwbench.harness.fingerprint import system_id

    grid = _load(args)
    if grid is None:
        return 2
    sid = args.system_id or system_id()
    records = []
    for path in sorted(Path(args.raw).glob(f"*/{sid}/**/rep-*.json")):  # any campaign, or the old layout
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    est = estimate(grid, records, args.cores)
    print(f"{grid.name}: {_job_counts(fwjobs.plan(grid))}, estimated {est.seconds / 60:.1f} min on system {sid} "
          f"({est.measured_cells} cells measured, {est.guessed_cells} borrowed from similar cells, "
          f"{est.unknown_cells} unknown; from {len(records)} records under {args.raw})")
    return 0
