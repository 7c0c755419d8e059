"""Protocol sizing: the steady share of a protocol from planted transients, the repetitions for a CI
half-width, and a recommendation that fits the time budget."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fwbench.stats.protocol_sizing import (needed_steady, recommend, repetitions_for, size_protocol, steady_share,
                                           transients)


def test_steady_share_counts_runs_left_with_enough_steady_steps() -> None:
    transient = np.array([0, 2, 4, 8, 12, 20], dtype=float)
    # 2 warm-up + 15 measured: a run needs 10 steady steps, so its transient may reach 2 + 5 = 7
    assert steady_share(transient, 2, 15) == pytest.approx(3 / 6)
    # 10 warm-up + 20 measured: needs max(10, 10); transients up to 20 pass
    assert steady_share(transient, 10, 20) == pytest.approx(1.0)
    drifting = np.array([False, False, False, False, False, True])
    assert steady_share(transient, 10, 20, drifting) == pytest.approx(5 / 6)  # more steps do not cure drift
    assert needed_steady(40) == 20  # at least half of the measured steps


def test_repetitions_for_a_half_width() -> None:
    # 1.96 x 1.2533 x 0.05 / ln(1.05) = 2.517 -> 6.34 -> 7 runs
    assert repetitions_for(0.05) == 7
    assert repetitions_for(0.10) == 26
    assert repetitions_for(0.0) == 2
    half = 1.959963984540054 * 1.2533141373155 * 0.05 / math.sqrt(repetitions_for(0.05))
    assert half <= math.log(1.05)


def _frames(n_cells: int = 4, reps: int = 6, spread: float = 0.04, seed: int = 0):
    """runs, steady-state and per-run tables with planted transients (0-12 steps) and run spread."""
    rng = np.random.default_rng(seed)
    runs, steady, per_run = [], [], []
    start = datetime(2026, 11, 29, 12, 0)
    for c in range(n_cells):
        step_ms = 20.0 * (c + 1)
        for r in range(reps):
            run_id = f"c{c}r{r}"
            median = step_ms * math.exp(rng.normal(0, spread))
            runs.append({"run_id": run_id, "cell_id": f"cell{c}", "campaign_id": "k", "status": "ok",
                         "warmup_steps": 2, "measured_steps": 15, "started_at": start,
                         "finished_at": start + timedelta(seconds=5 + 17 * step_ms / 1e3),
                         "warmup_s": 2 * step_ms / 1e3, "measured_s": 15 * step_ms / 1e3, "median_step_ms": median})
            steady.append({"run_id": run_id, "status": "ok", "steady_start": int(rng.integers(0, 11))})
            per_run.append({"run_id": run_id, "step_ms": median})
    return pl.DataFrame(runs), pl.DataFrame(steady), pl.DataFrame(per_run)


def test_size_protocol_and_recommend_within_budget() -> None:
    runs, steady, per_run = _frames(spread=0.02)
    assert transients(runs, steady)[0].max() <= 12
    table = size_protocol(runs, steady, per_run)
    assert {"warmup", "measured", "repetitions", "steady_share", "cells_within_target", "minutes"} <= set(table.columns)
    # more repetitions: longer, and never fewer cells within the target
    one = table.filter((pl.col("warmup") == 10) & (pl.col("measured") == 15)).sort("repetitions")
    assert one["minutes"].is_sorted() and one["cells_within_target"].is_sorted()
    pick = recommend(table, budget_minutes=5.0)
    assert pick["steady_share"] >= 0.95 and pick["minutes"] <= 5.0
    more = recommend(table, budget_minutes=10.0)  # a larger budget buys repetitions, not other steps
    assert (more["warmup"], more["measured"]) == (pick["warmup"], pick["measured"])
    assert more["repetitions"] > pick["repetitions"]
    cheapest = table.filter(pl.col("steady_share") >= 0.95).select((pl.col("warmup") + pl.col("measured")).min()).item()
    assert pick["warmup"] + pick["measured"] == cheapest
    # with a 2% run spread (sample sd of 6 runs stays below 5%), 7 runs reach +-5% for every cell
    assert pick["repetitions_for_95pct_of_cells"] <= 7
    assert recommend(pl.DataFrame(), 30.0) is None
