"""Synthetic, schema-valid run records with planted effects.

Tests of ingest, statistics, figures and the paper use these instead of real runs: a planted
ratio or null effect must come back out of the analysis. Nothing here is used for results.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fwbench.cells import Cell
from fwbench.constants import SCHEMA_VERSION
from fwbench.ids import SYSTEM_ID_LENGTH, short_hash
from fwbench.records import write_record


def fake_system(name: str = "synthetic-host", cores: int = 2) -> dict[str, Any]:
    """A fingerprint whose system_id is derived from `name`, so two names are two hosts."""
    return {
        "system_id": short_hash(name, SYSTEM_ID_LENGTH),
        "host_processor_model_name": f"Synthetic CPU ({name})",
        "host_processor_core_count": cores,
        "host_memory_capacity_gb": 24.0,
        "accelerator_model_name": None,
        "accelerator_count": 0,
        "accelerator_driver_version": None,
        "cuda_version": None,
        "operating_system": "Linux-synthetic",
        "python_version": "3.11.7",
        "packages": {"torch": "2.13.0", "tensorflow": "2.21.0", "numpy": "2.4.6"},
        "git_commit": None,
        "env_lock_hash": None,
    }


def step_times(
    rng: np.random.Generator,
    median_ms: float,
    n: int,
    noise: float = 0.03,
    transient_steps: int = 0,
    transient_factor: float = 2.0,
) -> list[float]:
    """Lognormal step times around median_ms; the first transient_steps decay from transient_factor x."""
    times = median_ms * np.exp(rng.normal(0.0, noise, size=n))
    if transient_steps:
        decay = 1.0 + (transient_factor - 1.0) * np.exp(-np.arange(transient_steps) / max(transient_steps / 3, 1))
        times[:transient_steps] *= decay
    return [round(float(t), 4) for t in times]


def make_record(
    cell: Cell,
    *,
    rng: np.random.Generator,
    median_ms: float,
    repetition: int = 0,
    run_noise: float = 0.05,
    step_noise: float = 0.03,
    warmup_steps: int = 5,
    measured_steps: int = 30,
    transient_steps: int = 0,
    first_step_s: float = 0.5,
    peak_rss_above_import_mb: float = 100.0,
    status: str = "ok",
    system: dict[str, Any] | None = None,
    grid: dict[str, Any] | None = None,
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """One schema-valid record; the run's own median is median_ms times a lognormal run effect."""
    run_median = median_ms * float(np.exp(rng.normal(0.0, run_noise)))
    start = started_at or datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=int(rng.integers(0, 10**6)))
    ok = status == "ok"
    warm = step_times(rng, run_median, warmup_steps, step_noise) if ok else []
    measured = step_times(rng, run_median, measured_steps, step_noise, transient_steps) if ok else []
    import_mb = 500.0 if cell.framework == "tensorflow" else 220.0
    peak_above = peak_rss_above_import_mb * float(np.exp(rng.normal(0.0, 0.02)))
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63))).hex,
        "kind": "speed",
        "cell": cell.to_dict(),
        "cell_id": cell.cell_id,
        "seed": 0,
        "grid": grid,
        "repetition": repetition,
        "protocol": {"warmup_steps": warmup_steps, "measured_steps": measured_steps, "timeout_s": 600.0},
        "status": status,
        "error": None if ok else f"synthetic {status}",
        "started_at": start.isoformat(),
        "finished_at": (start + timedelta(seconds=10)).isoformat(),
        "timings": {
            "import_s": 2.0,
            "build_s": 0.2,
            "first_step_s": first_step_s * float(np.exp(rng.normal(0.0, 0.05))) if ok else None,
            "warmup_s": sum(warm) / 1000 if ok else None,
            "measured_s": sum(measured) / 1000 if ok else None,
        },
        "steps": {"warmup_ms": warm, "measured_ms": measured},
        "throughput": cell.batch_size / (float(np.median(measured)) / 1000) if ok else None,
        "memory": {
            "method": "synthetic",
            "rss_after_import_mb": import_mb,
            "peak_rss_mb": import_mb + peak_above if ok else None,
            "peak_rss_above_import_mb": peak_above if ok else None,
            "device_peak_mb": None,
        },
        "model_info": {"params": 300_000, "flops_per_sample": 1.0e8},
        "compile_cache": {"state": "none", "dir": None},
        "system": system or fake_system(),
    }


def base_cell(**overrides: Any) -> Cell:
    """A small CPU training cell; override any field."""
    cell = Cell(framework="torch", mode="eager", model="cnn", size="tiny", phase="train",
                batch_size=32, seq_len=0, device="cpu", threads=2)
    return replace(cell, **overrides) if overrides else cell


def write_dataset(
    raw_dir: str | Path,
    cells: dict[Cell, float],
    *,
    reps: int = 5,
    seed: int = 0,
    grid_name: str = "synthetic",
    system: dict[str, Any] | None = None,
    **record_kwargs: Any,
) -> list[Path]:
    """Write reps records per cell (median step ms per cell) in the data/raw layout; returns paths."""
    rng = np.random.default_rng(seed)
    system = system or fake_system()
    grid = {"name": grid_name, "version": 1, "hash": "synthetic"}
    paths = []
    for rep in range(reps):  # interleaved like the workflow: rep 0 of every cell, then rep 1 ...
        for cell, median_ms in cells.items():
            record = make_record(cell, rng=rng, median_ms=median_ms, repetition=rep, system=system,
                                 grid=grid, **record_kwargs)
            path = Path(raw_dir) / grid_name / system["system_id"] / cell.cell_id / f"rep-{rep}.json"
            write_record(path, record)
            paths.append(path)
    return paths
