"""A/A checks: how often does the comparison machinery call two halves of the same cell different?

Each campaign's usable runs of every cell are split into two halves by alternate repetitions (even
repetitions form half A, odd ones half B, so slow drifts over a campaign fall on both halves alike) and the
halves are compared exactly as two implementations are (fwbench.stats.comparisons: median step time A/B
with the hierarchical bootstrap CI over runs, then steps within runs, from the same per-cell seeds). Both
halves measure one implementation, so every CI that excludes 1 is a false positive; their share estimates
the false-positive rate of a 95% CI (nominal 5%), per campaign, per hardware class and over all (Laaber et
al., EMSE 2019, ran A/A tests to measure it for cloud benchmarks).

A half of a 7-repetition cell holds 3 or 4 runs and of a 5-repetition one 2 or 3, fewer than the MIN_RUNS = 4
a primary comparison needs, so halves need only AA_MIN_RUNS = 2 and every rate is given per `runs_per_half`
(the smaller half of each cell): the rate of the machinery at that many runs a side, not a measurement of
its rate at the design's full count.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from fwbench.harness.hardware_class import UNKNOWN
from fwbench.stats.bootstrap import HIERARCHICAL, N_RESAMPLES, SEED, center, hierarchical_medians, ratio_from_medians
from fwbench.stats.comparisons import key_seed
from fwbench.stats.pooling import ALL_CLASSES

#: Usable runs each half needs (a 7-repetition cell splits 4 / 3, a 5-repetition one 3 / 2).
AA_MIN_RUNS = 2
ALL_CAMPAIGNS = "all"
HALVES = ("even repetitions", "odd repetitions")

CELL_SCHEMA: dict[str, type[pl.DataType]] = {
    "campaign_id": pl.String, "hardware_class": pl.String, "cell_id": pl.String, "n_a": pl.Int64, "n_b": pl.Int64,
    "runs_per_half": pl.Int64, "ratio": pl.Float64, "ratio_low": pl.Float64, "ratio_high": pl.Float64,
    "ci_excludes_1": pl.Boolean,
}
SCHEMA: dict[str, type[pl.DataType]] = {
    "hardware_class": pl.String, "campaign_id": pl.String, "runs_per_half": pl.Int64, "n_cells": pl.Int64,
    "n_false_positive": pl.Int64,
    "false_positive_rate": pl.Float64, "rate_low": pl.Float64, "rate_high": pl.Float64,
    "median_abs_log_ratio": pl.Float64,
}


def split_halves(runs: pl.DataFrame) -> tuple[list[str], list[str]]:
    """Run ids of the even and the odd repetitions."""
    even = runs.filter(pl.col("repetition") % 2 == 0).get_column("run_id").to_list()
    odd = runs.filter(pl.col("repetition") % 2 == 1).get_column("run_id").to_list()
    return even, odd


def aa_cells(per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray], *, seed: int = SEED,
             n_resamples: int = N_RESAMPLES) -> pl.DataFrame:
    """One row per campaign and cell whose halves both have AA_MIN_RUNS usable runs: the A/A step-time ratio."""
    need = {"run_id", "campaign_id", "cell_id", "repetition", "step_ms"}
    if per_run.is_empty() or not need <= set(per_run.columns):
        return pl.DataFrame(schema=CELL_SCHEMA)
    usable = per_run.filter(pl.col("step_ms").is_not_null() & pl.col("run_id").is_in(list(steps_by_run)))
    if "hardware_class" not in usable.columns:
        usable = usable.with_columns(pl.lit(None, dtype=pl.String).alias("hardware_class"))
    rows = []
    for (campaign, cell), group in usable.sort("campaign_id", "cell_id", "run_id").group_by(
            ["campaign_id", "cell_id"], maintain_order=True):
        halves = split_halves(group)
        if min(len(h) for h in halves) < AA_MIN_RUNS:
            continue
        points, replicates = [], []
        for name, ids in zip(HALVES, halves):
            steps = [steps_by_run[r] for r in ids]
            rng = np.random.default_rng(key_seed(seed, f"aa:{campaign}:{cell}:{name}"))
            replicates.append(hierarchical_medians(steps, n_resamples, rng))
            points.append(float(center(group.filter(pl.col("run_id").is_in(ids)).get_column("step_ms").to_numpy())))
        ci = ratio_from_medians(points[0], points[1], replicates[0], replicates[1], HIERARCHICAL)
        rows.append({"campaign_id": campaign, "hardware_class": group.get_column("hardware_class")[0],
                     "cell_id": cell, "n_a": len(halves[0]), "n_b": len(halves[1]),
                     "runs_per_half": min(len(h) for h in halves), "ratio": ci.ratio,
                     "ratio_low": ci.low, "ratio_high": ci.high, "ci_excludes_1": ci.low > 1 or ci.high < 1})
    return pl.DataFrame(rows, schema=CELL_SCHEMA) if rows else pl.DataFrame(schema=CELL_SCHEMA)


def _summary(hardware_class: str, campaign_id: str, runs_per_half: int, cells: pl.DataFrame) -> dict:
    n, hits = cells.height, int(cells.get_column("ci_excludes_1").sum())
    interval = stats.binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
    return {"hardware_class": hardware_class, "campaign_id": campaign_id, "runs_per_half": runs_per_half,
            "n_cells": n, "n_false_positive": hits, "false_positive_rate": hits / n, "rate_low": float(interval.low),
            "rate_high": float(interval.high),
            "median_abs_log_ratio": float(np.median(np.abs(np.log(cells.get_column("ratio").to_numpy()))))}


def _summaries(cells: pl.DataFrame, by: list[str], fixed: dict[str, str]) -> list[dict]:
    keys = [*by, "runs_per_half"]
    return [_summary(**fixed, **dict(zip(keys, key)), cells=group)
            for key, group in cells.sort(keys).group_by(keys, maintain_order=True)]


def aa_checks(per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray], *, seed: int = SEED,
              n_resamples: int = N_RESAMPLES) -> pl.DataFrame:
    """The A/A false-positive rate with its Wilson 95% CI, per runs a half: per campaign, per hardware class
    (campaign_id = 'all') and over every campaign (both 'all')."""
    cells = aa_cells(per_run, steps_by_run, seed=seed, n_resamples=n_resamples).with_columns(
        pl.col("hardware_class").fill_null(UNKNOWN))
    if cells.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    rows = (_summaries(cells, ["hardware_class", "campaign_id"], {})
            + _summaries(cells, ["hardware_class"], {"campaign_id": ALL_CAMPAIGNS})
            + _summaries(cells, [], {"hardware_class": ALL_CLASSES, "campaign_id": ALL_CAMPAIGNS}))
    return pl.DataFrame(rows, schema=SCHEMA)
