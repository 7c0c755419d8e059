"""Framework or layer? Each framework-level CNN/LSTM claim re-judged per model family and per variant.

A verdict on "TensorFlow trains CNNs faster" may be a verdict on one Keras layer (BatchNorm built from
unfused ops) or one design choice (the LSTM's per-timestep input projection). The ablation grid
(constants.ABLATION_GRID) measures, in one campaign, the standard models beside implementation variants
that compute the same function (parity-tested) through other kernels, and a second CNN family without
BatchNorm. Only its runs are read here: standard and variant cells measured on the same day, so a change
of verdict is the variant's, not the machine's (shipped campaigns moved 2-3.5x between days).

Rows, per scope, claim and model family:
- the standard model over every workload of the family in the grid (shape sweeps included: a claim
  about "LSTM" that holds at one shape and not another `depends on the cell`);
- each implementation variant (fwbench.stats.comparisons pairs a variant of one framework with the
  other framework's standard model), beside the standard model judged on the same workloads
  (`baseline_*`); `survives` says whether the two verdicts agree.
Rows no data here can answer (GPU and multi-worker claims, variants not measured at a claim's cells) are
left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from fwbench import constants as C
from fwbench.stats.claims import ACCURACY_METRICS, Claim, Evidence, claim_scopes, evaluate_claim, matched_comparisons
from fwbench.stats.comparisons import compare
from fwbench.stats.reproducibility import UNTESTABLE

#: Model families whose verdicts the ablation re-judges (the issue's CNN and LSTM claims, both CNN families).
ABLATION_FAMILIES: tuple[str, ...] = ("cnn", "cnn_plain", "lstm")
#: Workload fields a variant row's baseline is restricted to (the variant's own cells).
WORKLOAD_FIELDS: tuple[str, ...] = ("size", "phase", "batch_size", "seq_len")


def variants_of(claim: Claim, model: str) -> list[str]:
    """The implementation variants either side's framework has for `model`, standard first."""
    sides = (claim.a.framework, claim.b.framework)
    return [v for v in C.ALL_VARIANTS if any(v in C.VARIANTS[fw][model] for fw in sides)]


def ablation_claims(claims: list[Claim]) -> Iterator[tuple[Claim, str, str]]:
    """(claim narrowed to one family and variant, family, variant) for every framework-level speed or
    memory claim whose filter reaches a family of ABLATION_FAMILIES."""
    for claim in claims:
        if claim.metric in ACCURACY_METRICS or claim.a.framework == claim.b.framework:
            continue
        for model in (m for m in claim.filter.get("model", C.MODELS) if m in ABLATION_FAMILIES):
            for variant in variants_of(claim, model):
                narrowed = {**claim.filter, "model": (model,), "variant": (variant,)}
                yield replace(claim, filter=narrowed), model, variant


def _baseline(claim: Claim, scope: str, ev: Evidence) -> Claim | None:
    """The claim on the standard model, restricted to the workloads the variant claim reads (None when
    the variant has no matching cells)."""
    rows = [r for r, _ in matched_comparisons(claim, scope, ev)[0]]
    if not rows:
        return None
    workloads = {k: tuple(sorted({r[k] for r in rows})) for k in WORKLOAD_FIELDS}
    return replace(claim, filter={**claim.filter, **workloads, "variant": (C.STANDARD_VARIANT,)})


def _judged(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}effect": row["effect"], f"{prefix}effect_low": row["effect_low"],
            f"{prefix}effect_high": row["effect_high"], f"{prefix}verdict": row["verdict"]}


def layer_ablation(claims: list[Claim], per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray], *,
                   seed: int, n_resamples: int, margin: float) -> pl.DataFrame:
    """The `layer_ablation` table from the ablation grid's runs of `per_run` (empty without them)."""
    if "grid_name" not in per_run.columns:
        return empty_table()
    runs = per_run.filter(pl.col("grid_name") == C.ABLATION_GRID)
    if not runs.height:
        return empty_table()
    comps = compare(runs, steps_by_run, margin=margin, seed=seed, n_resamples=n_resamples)
    ev = Evidence(runs, comps, steps_by_run, seed=seed, n_resamples=n_resamples, margin=margin)
    out = []
    for scope in claim_scopes(ev):
        for claim, model, variant in ablation_claims(claims):
            judged = evaluate_claim(claim, scope, ev)
            row = {"claim_id": claim.id, "system_id": scope, "model": model, "variant": variant,
                   "metric": claim.metric, "contrast": claim.contrast, "n_cells": judged["n_cells"],
                   "cells": judged["cells"], **_judged(judged), "reason": judged["reason"],
                   **dict.fromkeys(("baseline_effect", "baseline_effect_low", "baseline_effect_high",
                                    "baseline_verdict", "survives"))}
            base = _baseline(claim, scope, ev) if variant != C.STANDARD_VARIANT else None
            if base is not None:
                row.update(_judged(evaluate_claim(base, scope, ev), "baseline_"))
                testable = UNTESTABLE not in (row["verdict"], row["baseline_verdict"])
                row["survives"] = row["verdict"] == row["baseline_verdict"] if testable else None
            out.append(row)
    return _testable(pl.DataFrame(out, schema=SCHEMA)) if out else empty_table()


def _testable(table: pl.DataFrame) -> pl.DataFrame:
    """Drop what no data here can answer: variant rows without matching cells (a variant measured at other
    workloads, or not at all), and claim/family groups with no testable row (GPU or multi-worker claims)."""
    untestable = pl.col("verdict") == UNTESTABLE
    table = table.filter(~(untestable & (pl.col("variant") != C.STANDARD_VARIANT)))
    return table.filter((~untestable).any().over("system_id", "claim_id", "model"))


SCHEMA: dict[str, pl.DataType] = {
    "claim_id": pl.String, "system_id": pl.String, "model": pl.String, "variant": pl.String, "metric": pl.String,
    "contrast": pl.String, "n_cells": pl.Int64, "cells": pl.String, "effect": pl.Float64,
    "effect_low": pl.Float64, "effect_high": pl.Float64, "verdict": pl.String, "reason": pl.String,
    "baseline_effect": pl.Float64, "baseline_effect_low": pl.Float64, "baseline_effect_high": pl.Float64,
    "baseline_verdict": pl.String, "survives": pl.Boolean}


def empty_table() -> pl.DataFrame:
    """No ablation runs: a table with the columns and no rows (write_analysis drops it)."""
    return pl.DataFrame(schema=SCHEMA)
