"""How much a verdict rests on defensible analysis choices: the claims re-judged under each variant.

A hostile reviewer asks whether a verdict survives another reasonable choice. Each variant changes
one choice and re-runs the same claim evaluation (fwbench.stats.claims) in every scope, for the
claims the choice can touch:

- `all-pairs` (defaults claims): every mode pair of the two frameworks, TF eager included;
- `best-of` (defaults claims): each framework's fastest mode per cell, chosen on held-out runs
  (fwbench.stats.best_of), the effect from the other half;
- `no exclusions` (speed claims): every finished run kept, its statistic the median of all its
  measured steps (no steady-state detection, no exclusion);
- `exclude non-stationary` (speed claims): runs without a detected steady state left out, as the
  primary analysis did before it kept them with their all-steps median (fwbench.stats.steady_state);
- `start -1 step` / `start +1 step` (speed claims): each run's detected steady start moved one step
  earlier or later;
- `trimmed mean` (speed claims): runs and cells summarised by the 10% trimmed mean instead of the
  median, in the point estimates and the bootstrap alike (fwbench.stats.bootstrap.center);
- `total peak RSS` (memory claims): total peak RSS instead of the peak above the post-import baseline
  (the primary metric: the import of a framework is not the model's memory);
- `unpaired` (accuracy claims): Welch's t instead of pairing the frameworks' runs by seed;
- `target 90%` (time-to-accuracy claims): the target at 90% instead of 95% of the lower median final
  accuracy.

A claim whose verdict differs from the primary one under any variant, in a scope, is `fragile` there.
A variant that cannot test a claim (e.g. best-of leaves a cell fewer than 4 runs per side) changes
nothing: its `changed` is null.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import polars as pl

from fwbench.stats.bootstrap import center
from fwbench.stats.reproducibility import UNTESTABLE
from fwbench.stats.claims import Claim, Evidence, evaluate_claims
from fwbench.stats.comparisons import compare
from fwbench.stats.metrics import measured_steps, run_table, steady_steps

PRIMARY = "primary"
VARIANTS: tuple[str, ...] = ("all-pairs", "best-of", "no exclusions", "exclude non-stationary", "start -1 step", "start +1 step",
                             "trimmed mean", "total peak RSS", "unpaired", "target 90%")
TARGET_VARIANT = 0.90
SPEED_METRICS = ("step_time", "throughput")
_COLUMNS = ("claim_id", "system_id", "effect", "effect_low", "effect_high", "verdict")


def _no_exclusions(steady: pl.DataFrame, series: dict[str, np.ndarray]) -> pl.DataFrame:
    """Every finished run usable, from its first measured step (the all-steps median is already in the table)."""
    del series  # the variants share one signature
    finished = pl.col("status") == "ok"
    return steady.with_columns(
        ok=finished & (pl.col("n_measured") > 0), reason=pl.when(finished).then(None).otherwise(pl.col("reason")),
        stat_start=pl.when(finished).then(0).otherwise(None),
        steady_median_ms=pl.when(finished).then(pl.col("all_median_ms")).otherwise(None))


def _stationary_only(steady: pl.DataFrame, series: dict[str, np.ndarray]) -> pl.DataFrame:
    """Runs without a detected steady state excluded (the rule the primary analysis no longer applies)."""
    del series  # the variants share one signature
    return steady.with_columns(ok=pl.col("ok") & pl.col("stationary").fill_null(False))


def _restated(steady: pl.DataFrame, series: dict[str, np.ndarray], shift: int, statistic: str) -> pl.DataFrame:
    """Each usable run's statistic start moved by `shift` steps and its statistic recomputed from there."""
    starts, values = [], []
    for run_id, ok, start in steady.select("run_id", "ok", "stat_start").iter_rows():
        if not ok or start is None:
            starts.append(start)
            values.append(None)
            continue
        moved = int(np.clip(start + shift, 0, len(series[run_id]) - 1))
        starts.append(moved)
        values.append(float(center(series[run_id][moved:], statistic=statistic)))
    return steady.with_columns(stat_start=pl.Series(starts, dtype=pl.Int64),
                               steady_median_ms=pl.Series(values, dtype=pl.Float64))


def _shifted_start(shift: int) -> Callable[[pl.DataFrame, dict[str, np.ndarray]], pl.DataFrame]:
    return lambda steady, series: _restated(steady, series, shift, "median")


def _trimmed_mean(steady: pl.DataFrame, series: dict[str, np.ndarray]) -> pl.DataFrame:
    """Each run's statistic is the trimmed mean of its steady steps (the column keeps its name)."""
    return _restated(steady, series, 0, "trimmed mean")


#: variant -> (how the steady-state table changes, the statistic over runs and steps)
_STEADY_VARIANTS = {"no exclusions": (_no_exclusions, "median"),
                    "exclude non-stationary": (_stationary_only, "median"),
                    "start -1 step": (_shifted_start(-1), "median"), "start +1 step": (_shifted_start(1), "median"), "trimmed mean": (_trimmed_mean, "trimmed mean")}


def sensitivity(claims: list[Claim], primary: pl.DataFrame, evidence: Evidence, runs: pl.DataFrame,
                steps: pl.DataFrame, steady: pl.DataFrame) -> pl.DataFrame:
    """One row per claim, scope and variant that can touch it (the primary verdict first), with `changed`.

    primary and evidence are the primary analysis's claims table and what it was judged from."""
    judged = {PRIMARY: primary.filter(pl.col("claim_id").is_in([c.id for c in claims]))}
    defaults = [c for c in claims if c.contrast == "defaults"]
    for contrast in ("all-pairs", "best-of"):
        if defaults:
            judged[contrast] = evaluate_claims([replace(c, contrast=contrast) for c in defaults], evidence)
    speed = [c for c in claims if c.metric in SPEED_METRICS]
    series = measured_steps(steps) if speed else {}
    for name, (restate, statistic) in _STEADY_VARIANTS.items():
        if not speed:
            break
        varied = restate(steady, series)
        per_run = run_table(runs, varied)
        steps_by_run = steady_steps(steps, varied)
        comps = compare(per_run, steps_by_run, margin=evidence.margin, seed=evidence.seed,
                        n_resamples=evidence.n_resamples, statistic=statistic)
        judged[name] = evaluate_claims(speed, replace(evidence, runs=per_run, comps=comps, steps_by_run=steps_by_run))
    memory = [replace(c, metric="memory_total") for c in claims if c.metric == "memory"]
    if memory:
        judged["total peak RSS"] = evaluate_claims(memory, evidence)
    accuracy = [c for c in claims if c.metric == "accuracy"]
    if accuracy:
        judged["unpaired"] = evaluate_claims(accuracy, replace(evidence, accuracy_paired=False))
    to_target = [c for c in claims if c.metric == "time_to_accuracy"]
    if to_target:
        judged["target 90%"] = evaluate_claims(to_target, replace(evidence, target_fraction=TARGET_VARIANT))
    if len(judged) == 1:
        return empty_table()
    table = pl.concat([t.select(_COLUMNS).with_columns(variant=pl.lit(v)) for v, t in judged.items()])
    base = judged[PRIMARY].select("claim_id", "system_id", pl.col("verdict").alias("primary_verdict"))
    table = table.join(base, on=["claim_id", "system_id"], how="inner").with_columns(
        changed=pl.when(pl.col("verdict") == UNTESTABLE).then(None)
        .otherwise(pl.col("verdict") != pl.col("primary_verdict")))
    touched = table.filter(pl.col("variant") != PRIMARY).select("claim_id").unique()
    order = {c.id: i for i, c in enumerate(claims)}
    variant_order = {v: i for i, v in enumerate((PRIMARY, *VARIANTS))}
    return (table.join(touched, on="claim_id")
            .with_columns(pl.col("claim_id").replace_strict(order, return_dtype=pl.Int64).alias("_c"),
                          pl.col("variant").replace_strict(variant_order, return_dtype=pl.Int64).alias("_v"))
            .sort("_c", pl.col("system_id") == "pooled", "system_id", "_v")
            .select("claim_id", "system_id", "variant", "effect", "effect_low", "effect_high", "verdict",
                    "primary_verdict", "changed"))


def fragile(table: pl.DataFrame) -> pl.DataFrame:
    """(claim_id, system_id, fragile, fragile_under): whether any variant changed the verdict, and which."""
    if table.height == 0:
        return pl.DataFrame(schema={"claim_id": pl.String, "system_id": pl.String, "fragile": pl.Boolean,
                                    "fragile_under": pl.String})
    return (table.group_by("claim_id", "system_id", maintain_order=True)
            .agg(fragile=pl.col("changed").fill_null(False).any(),
                 fragile_under=pl.col("variant").filter(pl.col("changed").fill_null(False)).str.join(", "))
            .with_columns(fragile_under=pl.when(pl.col("fragile")).then(pl.col("fragile_under")).otherwise(None)))


def empty_table() -> pl.DataFrame:
    return pl.DataFrame(schema={"claim_id": pl.String, "system_id": pl.String, "variant": pl.String,
                                "effect": pl.Float64, "effect_low": pl.Float64, "effect_high": pl.Float64,
                                "verdict": pl.String, "primary_verdict": pl.String, "changed": pl.Boolean})
