"""Assemble one run record (workflow/schemas/run.schema.yaml) from what the worker reported.

The parent owns the record: it adds the run context (cell, seed, grid, protocol, times, system
fingerprint) to the worker's measurements, so a worker that hung or died still yields a record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fwbench.cells import Cell
from fwbench.constants import SCHEMA_VERSION
from fwbench.grid import GridRef
from fwbench.harness.timing import throughput
from fwbench.harness.worker import WorkerResult


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class RunContext:
    """Everything about a run that the parent knows before the worker starts."""

    cell: Cell
    seed: int
    warmup: int
    steps: int
    timeout_s: float
    grid: GridRef | None = None
    campaign_id: str | None = None  # the campaign (fwbench.campaigns) of a grid run
    repetition: int = 0
    position: int | None = None  # place in the repetition round's randomized order (fwbench.jobs.interleaved)
    compile_cache_dir: str | None = None
    compile_cache_state: str = "none"  # state of the directory before the run (cold/warm/none)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: str = field(default_factory=utc_now)


def grid_fields(grid: GridRef | None, campaign_id: str | None) -> dict[str, Any]:
    """A record's `grid` (null for an ad-hoc run) and, for a campaign's run, its `campaign_id`
    (shared by speed and accuracy records)."""
    fields_ = {"grid": None if grid is None else grid.as_record()}
    return {**fields_, "campaign_id": campaign_id} if campaign_id else fields_


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def build_record(ctx: RunContext, result: WorkerResult, system: dict[str, Any],
                 machine_state: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schema-valid record; throughput only for status ok. `machine_state`
    (fwbench.harness.machine_state) is left out when None."""
    memory = result.memory or {}
    ok = result.status == "ok"
    measured = [round(ms, 6) for ms in result.steps.get("measured_ms", [])]
    cache_state = ctx.compile_cache_state
    if ctx.compile_cache_dir and result.compile_cache_state:
        cache_state = result.compile_cache_state  # the framework's own hit/miss counters win
    record = {
        "schema_version": SCHEMA_VERSION,
        "run_id": ctx.run_id,
        "kind": "speed",
        "cell": ctx.cell.to_dict(),
        "cell_id": ctx.cell.cell_id,
        "seed": ctx.seed,
        **grid_fields(ctx.grid, ctx.campaign_id),
        "repetition": ctx.repetition,
        "position": ctx.position,
        "protocol": {"warmup_steps": ctx.warmup, "measured_steps": ctx.steps, "timeout_s": float(ctx.timeout_s)},
        "status": result.status,
        "error": None if ok else (result.error or f"run ended with status {result.status} and no error text"),
        "started_at": ctx.started_at,
        "finished_at": utc_now(),
        "timings": {key: _round(value) for key, value in result.timings.items()},
        "steps": {"warmup_ms": [round(ms, 6) for ms in result.steps.get("warmup_ms", [])], "measured_ms": measured},
        "throughput": throughput(ctx.cell.batch_size, measured) if ok else None,
        "memory": {
            "method": memory.get("method", "not measured: the worker reported no memory figures"),
            "rss_after_import_mb": memory.get("rss_after_import_mb"),
            "peak_rss_mb": memory.get("peak_rss_mb"),
            "peak_rss_above_import_mb": memory.get("peak_rss_above_import_mb"),
            "device_peak_mb": _round(result.device_peak_mb, 3),
        },
        "onednn": result.onednn,
        "onednn_dispatch": result.onednn_dispatch,
        "parity": result.parity,
        "model_info": {"params": result.params, "flops_per_sample": result.flops_per_sample},
        "compile_cache": {"state": cache_state, "dir": ctx.compile_cache_dir},
        "system": system,
    }
    if machine_state is not None:
        record["machine_state"] = machine_state
    return record
