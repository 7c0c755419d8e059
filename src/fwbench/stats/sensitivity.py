"""How much a verdict rests on defensible analysis choices: the claims re-judged under each variant.

A hostile reviewer asks whether a verdict survives another reasonable choice. Each variant changes
one choice and re-runs the same claim evaluation (fwbench.stats.claims) in every scope:

- `all-pairs`: a `defaults` claim judged over every mode pair of the two frameworks;
- `no exclusions`: every finished run kept, its statistic the median of all its measured steps
  (no steady-state detection, no exclusion);
- `start -1 step` / `start +1 step`: each run's detected steady start moved one step earlier or later.

A claim whose verdict differs from the primary one under any variant, in a scope, is `fragile` there.
(Median vs trimmed mean as the run statistic is not a variant yet: the bootstrap resamples medians.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import polars as pl

from fwbench.stats.claims import Claim, evaluate_claims
from fwbench.stats.comparisons import Comparisons, compare
from fwbench.stats.metrics import measured_steps, run_table, steady_steps

PRIMARY = "primary"
VARIANTS: tuple[str, ...] = ("all-pairs", "no exclusions", "start -1 step", "start +1 step")
_COLUMNS = ("claim_id", "system_id", "effect", "effect_low", "effect_high", "verdict")


def _no_exclusions(steady: pl.DataFrame, series: dict[str, np.ndarray]) -> pl.DataFrame:
    """Every finished run usable, from its first measured step (the all-steps median is already in the table)."""
    del series  # the variants share one signature
    finished = pl.col("status") == "ok"
    return steady.with_columns(
        ok=finished & (pl.col("n_measured") > 0), reason=pl.when(finished).then(None).otherwise(pl.col("reason")),
        steady_start=pl.when(finished).then(0).otherwise(None),
        steady_median_ms=pl.when(finished).then(pl.col("all_median_ms")).otherwise(None))


def _shifted_start(shift: int) -> Callable[[pl.DataFrame, dict[str, np.ndarray]], pl.DataFrame]:
    def variant(steady: pl.DataFrame, series: dict[str, np.ndarray]) -> pl.DataFrame:
        starts, medians = [], []
        for run_id, ok, start in steady.select("run_id", "ok", "steady_start").iter_rows():
            if not ok or start is None:
                starts.append(start)
                medians.append(None)
                continue
            moved = int(np.clip(start + shift, 0, len(series[run_id]) - 1))
            starts.append(moved)
            medians.append(float(np.median(series[run_id][moved:])))
        return steady.with_columns(steady_start=pl.Series(starts, dtype=pl.Int64),
                                   steady_median_ms=pl.Series(medians, dtype=pl.Float64))
    return variant


_STEADY_VARIANTS = {"no exclusions": _no_exclusions, "start -1 step": _shifted_start(-1),
                    "start +1 step": _shifted_start(1)}


def sensitivity(claims: list[Claim], primary: pl.DataFrame, runs: pl.DataFrame, steps: pl.DataFrame,
                steady: pl.DataFrame, per_run: pl.DataFrame, comps: Comparisons, *, seed: int, n_resamples: int,
                margin: float) -> pl.DataFrame:
    """One row per speed claim, scope and variant (the primary verdict first), with `changed`.

    primary, per_run and comps are the primary analysis's claims, run table and comparisons."""
    speed = [c for c in claims if c.metric != "accuracy"]
    if not speed:
        return empty_table()
    judged = {PRIMARY: primary.filter(pl.col("claim_id").is_in([c.id for c in speed]))}
    all_pairs = [replace(c, contrast="all-pairs") for c in speed if c.contrast == "defaults"]
    if all_pairs:
        judged["all-pairs"] = evaluate_claims(all_pairs, per_run, comps, seed=seed)
    series = measured_steps(steps)
    for name, make in _STEADY_VARIANTS.items():
        varied = make(steady, series)
        per_run = run_table(runs, varied)
        varied_comps = compare(per_run, steady_steps(steps, varied), margin=margin, seed=seed,
                               n_resamples=n_resamples)
        judged[name] = evaluate_claims(speed, per_run, varied_comps, seed=seed)
    table = pl.concat([t.select(_COLUMNS).with_columns(variant=pl.lit(v)) for v, t in judged.items()])
    base = judged[PRIMARY].select("claim_id", "system_id", pl.col("verdict").alias("primary_verdict"))
    table = table.join(base, on=["claim_id", "system_id"], how="left").with_columns(
        changed=pl.col("verdict") != pl.col("primary_verdict"))
    order = {c.id: i for i, c in enumerate(speed)}
    variant_order = {v: i for i, v in enumerate((PRIMARY, *VARIANTS))}
    return (table.with_columns(pl.col("claim_id").replace_strict(order, return_dtype=pl.Int64).alias("_c"),
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
            .agg(fragile=pl.col("changed").any(),
                 fragile_under=pl.col("variant").filter(pl.col("changed")).str.join(", "))
            .with_columns(fragile_under=pl.when(pl.col("fragile")).then(pl.col("fragile_under")).otherwise(None)))


def empty_table() -> pl.DataFrame:
    return pl.DataFrame(schema={"claim_id": pl.String, "system_id": pl.String, "variant": pl.String,
                                "effect": pl.Float64, "effect_low": pl.Float64, "effect_high": pl.Float64,
                                "verdict": pl.String, "primary_verdict": pl.String, "changed": pl.Boolean})
