"""How many warm-up steps, measured steps and process repetitions a grid needs, from runs we have.

The protocol is sized by evidence, not habit (the design's pyperf / Kalibera-Jones rule: repeat at
the level that varies most). Three estimates, each from the measured runs:

- **Transient.** For every ok run, the number of steps from its first warm-up step to where the
  detected steady state begins (warm-up steps + fwbench.stats.steady_state's `steady_start`; the
  detector places it for runs it then rejects too). A run measured with W warm-up and N measured
  steps has a steady state when the steps left after its transient, N - max(0, T - W), reach the
  detector's minimum max(MIN_STEADY, ceil(MIN_FRACTION x N)). The share of runs that would pass is
  read off the observed transients (changes beyond the observed steps cannot be seen: say so);
  a run rejected for drift counts as failing whatever the protocol.
- **Repetitions.** Per cell, the spread of run statistics across processes of one campaign: the
  standard deviation s of log(run median) over steady runs, pooled over campaigns. The 95% CI of a
  median of R runs has half-width about
  1.96 x 1.2533 x s / sqrt(R) on the log scale (the median's asymptotic efficiency), so the
  repetitions for a half-width h are R = (1.96 x 1.2533 x s / ln(1 + h))^2.
- **Time.** A run's duration is its fixed cost (process start, import, build, first step: its
  wall time minus its warm-up and measured steps) plus (W + N) x its median step; a grid's time
  is the sum over its cells x R, plus the accuracy track as measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from fwbench.stats.steady_state import MIN_FRACTION, MIN_STEADY

TARGET_HALF_WIDTH = 0.05
TARGET_STEADY_SHARE = 0.95
Z = 1.959963984540054
MEDIAN_EFFICIENCY = 1.2533141373155  # sqrt(pi / 2): sd of a sample median / sd of the mean
CANDIDATE_WARMUP = (2, 5, 10, 15, 20)
CANDIDATE_STEPS = (15, 20, 25, 30, 40)
CANDIDATE_REPS = tuple(range(3, 21))


def needed_steady(n_measured: int) -> int:
    """Steady steps the detector asks of a run with n measured steps."""
    return max(MIN_STEADY, math.ceil(MIN_FRACTION * n_measured))


def transients(runs: pl.DataFrame, steady: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per ok run where the detector placed a steady start: the steps from its first warm-up step to
    that start, and whether the run was rejected for drift (which more steps would not cure)."""
    joined = (steady.filter((pl.col("status") == "ok") & pl.col("steady_start").is_not_null())
              .join(runs.select("run_id", "warmup_steps"), on="run_id", how="inner"))
    drift = joined["reason"].fill_null("").str.starts_with("drift") if "reason" in joined.columns else \
        pl.Series([False] * joined.height)
    return (joined["warmup_steps"] + joined["steady_start"]).to_numpy().astype(float), drift.to_numpy()


def steady_share(transient: np.ndarray, warmup: int, measured: int, drifting: np.ndarray | None = None) -> float:
    """Share of runs that would have a steady state with this protocol (drifting runs never do)."""
    if transient.size == 0:
        return math.nan
    left = measured - np.maximum(0, transient - warmup)
    ok = left >= needed_steady(measured)
    if drifting is not None:
        ok &= ~drifting
    return float(np.mean(ok))


def repetitions_for(sd_log: float, half_width: float = TARGET_HALF_WIDTH) -> int:
    """Process runs whose median has a 95% CI of +-half_width, for a spread sd_log of log run statistics."""
    return max(2, math.ceil((Z * MEDIAN_EFFICIENCY * sd_log / math.log1p(half_width)) ** 2))


@dataclass(frozen=True)
class CellCost:
    cell_id: str
    sd_log: float  # spread of log run statistics across processes (nan with < 2 steady runs)
    fixed_s: float  # process start, import, build, first step
    step_s: float  # median step


def cell_costs(runs: pl.DataFrame, per_run: pl.DataFrame) -> list[CellCost]:
    """Per cell: run-to-run spread of steady medians, fixed cost and step time of its ok runs."""
    ok = runs.filter(pl.col("status") == "ok").join(per_run.select("run_id", "step_ms"), on="run_id", how="left")
    ok = ok.with_columns(
        ((pl.col("finished_at") - pl.col("started_at")).dt.total_microseconds() / 1e6
         - pl.col("warmup_s").fill_null(0) - pl.col("measured_s").fill_null(0)).alias("fixed_s"))
    if "campaign_id" not in ok.columns:
        ok = ok.with_columns(pl.lit("").alias("campaign_id"))
    out = []
    for (cid,), group in ok.sort("cell_id", "run_id").group_by(["cell_id"], maintain_order=True):
        # spread between processes of one campaign: campaigns differ by more, and repetitions
        # within a campaign cannot average that away (fwbench.stats.reproducibility judges it)
        variances = []
        for (_,), runs_of_campaign in group.group_by(["campaign_id"], maintain_order=True):
            medians = runs_of_campaign["step_ms"].drop_nulls().to_numpy()
            if medians.size >= 2:
                variances.append(float(np.var(np.log(medians), ddof=1)))
        sd = math.sqrt(float(np.mean(variances))) if variances else math.nan
        out.append(CellCost(cid, sd, float(group["fixed_s"].median()), float(group["median_step_ms"].median()) / 1e3))
    return out


def accuracy_seconds(accuracy_runs: pl.DataFrame | None) -> float:
    """Wall time of one campaign's accuracy track: its runs' durations, averaged over campaigns."""
    if accuracy_runs is None or not {"started_at", "finished_at"} <= set(accuracy_runs.columns) \
            or accuracy_runs.height == 0:
        return 0.0
    total = float((accuracy_runs["finished_at"] - accuracy_runs["started_at"]).dt.total_microseconds().sum()) / 1e6
    campaigns = accuracy_runs["campaign_id"].n_unique() if "campaign_id" in accuracy_runs.columns else 1
    return total / max(1, campaigns)


def size_protocol(runs: pl.DataFrame, steady: pl.DataFrame, per_run: pl.DataFrame,
                  accuracy_s: float = 0.0) -> pl.DataFrame:
    """Every candidate (warm-up, measured steps, repetitions) with its predicted steady share, the share
    of cells whose CI half-width reaches TARGET_HALF_WIDTH, and the predicted minutes of the grid's cells."""
    need = {"warmup_steps", "started_at", "finished_at", "warmup_s", "measured_s", "median_step_ms"}
    if not need <= set(runs.columns) or runs.height == 0:
        return pl.DataFrame()
    transient, drifting = transients(runs, steady)
    costs = cell_costs(runs, per_run)
    spreads = np.array([c.sd_log for c in costs if math.isfinite(c.sd_log)])
    rows = []
    for warmup in CANDIDATE_WARMUP:
        for measured in CANDIDATE_STEPS:
            share = steady_share(transient, warmup, measured, drifting)
            per_rep_s = sum(c.fixed_s + (warmup + measured) * c.step_s for c in costs)
            for reps in CANDIDATE_REPS:
                half_widths = Z * MEDIAN_EFFICIENCY * spreads / math.sqrt(reps)
                rows.append({"warmup": warmup, "measured": measured, "repetitions": reps, "steady_share": share,
                             "cells_within_target": float(np.mean(half_widths <= math.log1p(TARGET_HALF_WIDTH)))
                             if spreads.size else math.nan,
                             "median_half_width": float(np.expm1(np.median(half_widths))) if spreads.size else math.nan,
                             "minutes": (per_rep_s * reps + accuracy_s) / 60.0,
                             "n_cells": len(costs), "n_transients": int(transient.size),
                             "max_observed_steps": int(runs["warmup_steps"].max() + runs["measured_steps"].max())})
    return pl.DataFrame(rows)


def recommend(table: pl.DataFrame, budget_minutes: float) -> dict | None:
    """The cheapest warm-up/steps reaching TARGET_STEADY_SHARE, then the most repetitions within the budget."""
    if table.height == 0:
        return None
    steady = table.filter(pl.col("steady_share") >= TARGET_STEADY_SHARE)
    if steady.height == 0:
        steady = table.filter(pl.col("steady_share") == table["steady_share"].max())
    protocol = steady.sort(pl.col("warmup") + pl.col("measured"), "measured").row(0, named=True)
    options = table.filter((pl.col("warmup") == protocol["warmup"]) & (pl.col("measured") == protocol["measured"]))
    within = options.filter(pl.col("minutes") <= budget_minutes)
    ranked = within.sort("repetitions", descending=True) if within.height else options.sort("repetitions")
    pick = ranked.row(0, named=True)
    full = options.filter(pl.col("cells_within_target") >= 0.95).sort("repetitions")
    return {**pick, "budget_minutes": budget_minutes,
            "repetitions_for_95pct_of_cells": full.row(0, named=True)["repetitions"] if full.height else None}
