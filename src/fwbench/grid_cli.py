"""`fwbench grid`: list, validate and expand the experiment grids, and estimate their wall time.

The workflow and this command read grids through fwbench.grid, so `fwbench grid cells NAME`
shows exactly the cell ids whose runs the workflow will produce.
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
from fwbench.paths import GRIDS_DIR, RAW_DIR

# Snakemake's own cost between two local jobs (scheduling, spawning the shell), measured here.
JOB_OVERHEAD_S = 0.6


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grid", help="list, validate, expand experiment grids; estimate wall time",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--grids-dir", default=str(GRIDS_DIR), help="directory of grid files (default: %(default)s)")
    parser.add_argument("--cores", type=int, default=None, help="resolve threads 'all' for this many cores")
    sub = parser.add_subparsers(dest="grid_command", required=True, metavar="ACTION")
    sub.add_parser("list", help="every grid with its version, cell and job count").set_defaults(func=_list)
    for name, func, text in (
        ("validate", _validate, "validate a grid; exit 2 with file, field and allowed values if bad"),
        ("show", _show, "a grid's version, hash, protocol, cell and job counts"),
        ("cells", _cells, "the grid's cells as TSV (cell_id, block, parameters, protocol)"),
        ("jobs", _jobs, "the grid's jobs in run order as TSV (repetition, cell_id)"),
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
        print(f"{name}\tv{grid.version}\t{len(fwgrid.expand_cells(grid, args.cores))} cells\t"
              f"{len(fwgrid.expand_jobs(grid, args.cores))} jobs")
    return status


def _validate(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    print(f"{grid.path}: valid ({len(fwgrid.expand_jobs(grid, args.cores))} jobs)")
    return 0


def _show(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    cells = fwgrid.expand_cells(grid, args.cores)
    print(json.dumps({
        "name": grid.name, "path": str(grid.path), "version": grid.version, "hash": grid.hash,
        "repetitions": grid.repetitions, "seed": grid.seed, "protocol": grid.protocol.__dict__,
        "blocks": {b.name: sum(gc.block == b.name for gc in cells) for b in grid.blocks},
        "cells": len(cells), "jobs": len(cells) * grid.repetitions,
    }, indent=1))
    return 0


CELL_COLUMNS = ("framework", "mode", "model", "size", "phase", "batch_size", "seq_len", "device", "threads", "dtype")


def _cells(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    print("\t".join(("cell_id", "block", *CELL_COLUMNS, "warmup", "steps", "timeout")))
    for gc in fwgrid.expand_cells(grid, args.cores):
        values = [str(getattr(gc.cell, c)) for c in CELL_COLUMNS]
        p = gc.protocol
        print("\t".join((gc.cell_id, gc.block, *values, str(p.warmup), str(p.steps), str(p.timeout))))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    grid = _load(args)
    if grid is None:
        return 2
    print("repetition\tcell_id")
    for job in fwgrid.expand_jobs(grid, args.cores):
        print(f"{job.repetition}\t{job.cell.cell_id}")
    return 0


# ---------------------------------------------------------------------------------------------
# Wall-time estimate


@dataclass(frozen=True)
class Estimate:
    """Predicted wall time of a grid on one host, from durations of runs already measured there."""

    jobs: int
    seconds: float
    measured_cells: int
    guessed_cells: int
    unknown_cells: int


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


def _cell_seconds(d: dict[str, list[float]], repetitions: int) -> float:
    """One cold run (if the cell has a cold-cache cost) plus warm runs for the other repetitions."""
    cold = statistics.median(d["cold"]) if d["cold"] else None
    warm = statistics.median(d["warm"]) if d["warm"] else None
    if cold is not None and warm is not None:
        return cold + (repetitions - 1) * warm
    return repetitions * (cold if cold is not None else warm or 0.0)


def estimate(grid: fwgrid.Grid, records: list[dict[str, Any]], cores: int | None = None,
             overhead_s: float = JOB_OVERHEAD_S) -> Estimate:
    """Sum over cells of their measured run durations plus Snakemake's per-job overhead.

    A compile cell costs one cold-cache run and warm runs for its other repetitions. A cell
    without records borrows the durations of records with the same framework, mode and model
    (any size, phase or threads); with none of those either it counts as unknown (0 s).
    """
    durations = run_durations(records)
    by_kind: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    for r in records:
        c = r["cell"]
        kind = by_kind.setdefault((c["framework"], c["mode"], c["model"]), {"cold": [], "warm": []})
        for state in ("cold", "warm"):
            kind[state].extend(durations[r["cell_id"]][state])
    total, measured, guessed, unknown = 0.0, 0, 0, 0
    for gc in fwgrid.expand_cells(grid, cores):
        c = gc.cell
        if gc.cell_id in durations:
            per_cell, measured = _cell_seconds(durations[gc.cell_id], grid.repetitions), measured + 1
        elif (c.framework, c.mode, c.model) in by_kind:
            per_cell, guessed = _cell_seconds(by_kind[(c.framework, c.mode, c.model)], grid.repetitions), guessed + 1
        else:
            per_cell, unknown = 0.0, unknown + 1
        total += per_cell + grid.repetitions * overhead_s
    return Estimate(len(fwgrid.expand_jobs(grid, cores)), total, measured, guessed, unknown)


def _estimate(args: argparse.Namespace) -> int:
    from fwbench.harness.fingerprint import system_id

    grid = _load(args)
    if grid is None:
        return 2
    sid = args.system_id or system_id()
    records = []
    for path in sorted(Path(args.raw).glob(f"*/{sid}/*/rep-*.json")):
        with open(path, encoding="utf-8") as fh:
            records.append(json.load(fh))
    est = estimate(grid, records, args.cores)
    print(f"{grid.name}: {est.jobs} jobs, estimated {est.seconds / 60:.1f} min on system {sid} "
          f"({est.measured_cells} cells measured, {est.guessed_cells} borrowed from similar cells, "
          f"{est.unknown_cells} unknown; from {len(records)} records under {args.raw})")
    return 0
