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
from fwbench.dataset.flatten import Batch
from fwbench.synthetic import base_cell, fake_system, make_record


def planted_records(cells: dict[Cell, float], *, reps: int = 6, seed: int = 0,
                    system: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """reps synthetic records per cell (median step ms per cell), interleaved like the workflow."""
    rng = np.random.default_rng(seed)
    system = system or fake_system()
    grid = {"name": "synthetic", "version": 1, "hash": "synthetic"}
    return [make_record(cell, rng=rng, median_ms=ms, repetition=rep, system=system, grid=grid, **kwargs)
            for rep in range(reps) for cell, ms in cells.items()]


def records_to_frames(records: list[dict[str, Any]]) -> dict[str, pl.DataFrame]:
    """The `runs` and `steps` frames of the dataset, from raw records, through ingest's own flattening
    (fwbench.dataset.flatten), so derived columns (median_step_ms, p99_ms ...) are computed one way."""
    batch = Batch()
    for record in records:
        batch.add(record, path=f"synthetic/{record['run_id']}.json", content_hash="")
    frames = batch.frames()
    return {"runs": frames["runs"], "steps": frames["steps"]}


def framework_cells(torch_ms: float, tf_ms: float, **overrides: Any) -> dict[Cell, float]:
    """A torch eager and a tensorflow eager cell with the given median step times."""
    return {base_cell(**overrides): torch_ms, base_cell(framework="tensorflow", **overrides): tf_ms}


def planted_frames(cells: dict[Cell, float], **kwargs: Any) -> dict[str, pl.DataFrame]:
    return records_to_frames(planted_records(cells, **kwargs))
