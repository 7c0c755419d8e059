"""Planted datasets for the statistics tests: synthetic records -> runs/steps frames.

`records_to_frames` is a tiny local adapter with the column contract of fwbench.dataset's `runs`
and `steps` tables, so the statistics can be tested without a database; the end-to-end test of
`fwbench analyze` goes through the real ingest instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from fwbench.cells import Cell
from fwbench.synthetic import base_cell, fake_system, make_record


def planted_records(cells: dict[Cell, float], *, reps: int = 6, seed: int = 0,
                    system: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """reps synthetic records per cell (median step ms per cell), interleaved like the workflow."""
    rng = np.random.default_rng(seed)
    system = system or fake_system()
    grid = {"name": "synthetic", "version": 1, "hash": "synthetic"}
    return [make_record(cell, rng=rng, median_ms=ms, repetition=rep, system=system, grid=grid, **kwargs)
            for rep in range(reps) for cell, ms in cells.items()]


_S, _I, _F = pl.String, pl.Int64, pl.Float64
RUN_SCHEMA: dict[str, pl.DataType] = {
    "run_id": _S, "system_id": _S, "grid_name": _S, "cell_id": _S, "repetition": _I, "framework": _S,
    "mode": _S, "model": _S, "size": _S, "phase": _S, "batch_size": _I, "seq_len": _I, "device": _S,
    "threads": _I, "dtype": _S, "status": _S, "error": _S, "first_step_s": _F, "import_s": _F, "build_s": _F,
    "throughput": _F, "peak_rss_mb": _F, "peak_rss_above_import_mb": _F, "device_peak_mb": _F, "params": _I,
    "flops_per_sample": _F, "compile_cache_state": _S, "median_step_ms": _F,
}


def records_to_frames(records: list[dict[str, Any]]) -> dict[str, pl.DataFrame]:
    """The `runs` and `steps` frames of the dataset contract, from raw records."""
    runs, steps = [], []
    for r in records:
        measured = r["steps"]["measured_ms"]
        runs.append({
            "run_id": r["run_id"], "system_id": r["system"]["system_id"],
            "grid_name": (r["grid"] or {}).get("name"), "cell_id": r["cell_id"], "repetition": r["repetition"],
            **r["cell"], "status": r["status"], "error": r["error"],
            "first_step_s": r["timings"]["first_step_s"], "import_s": r["timings"]["import_s"],
            "build_s": r["timings"]["build_s"], "throughput": r["throughput"],
            "peak_rss_mb": r["memory"]["peak_rss_mb"],
            "peak_rss_above_import_mb": r["memory"]["peak_rss_above_import_mb"],
            "device_peak_mb": r["memory"]["device_peak_mb"], "params": r["model_info"]["params"],
            "flops_per_sample": r["model_info"]["flops_per_sample"],
            "compile_cache_state": r["compile_cache"]["state"],
            "median_step_ms": float(np.median(measured)) if measured else None,
        })
        for phase, key in (("warmup", "warmup_ms"), ("measured", "measured_ms")):
            steps.extend({"run_id": r["run_id"], "step_index": i, "phase": phase, "ms": ms}
                         for i, ms in enumerate(r["steps"][key]))
    schema = {"run_id": pl.String, "step_index": pl.Int64, "phase": pl.String, "ms": pl.Float64}
    return {"runs": pl.DataFrame(runs, schema=RUN_SCHEMA), "steps": pl.DataFrame(steps, schema=schema)}


def framework_cells(torch_ms: float, tf_ms: float, **overrides: Any) -> dict[Cell, float]:
    """A torch eager and a tensorflow eager cell with the given median step times."""
    return {base_cell(**overrides): torch_ms, base_cell(framework="tensorflow", **overrides): tf_ms}


def planted_frames(cells: dict[Cell, float], **kwargs: Any) -> dict[str, pl.DataFrame]:
    return records_to_frames(planted_records(cells, **kwargs))
