"""Beyond torch vs TensorFlow (issue 18): what the Keras 3 layer costs on each backend, and where JAX stands.

Descriptive (no claim rests on it; the claims stay torch vs TensorFlow). Only the frameworks grid's runs
(constants.FRAMEWORKS_GRID) are read: JAX, Keras and their torch/TensorFlow references measured in one campaign,
so a ratio is the implementation's, not the day's (shipped campaigns moved 2-3.5x between days). Each row is a
step-time comparison of those runs (fwbench.stats.comparisons: CI, test, run counts), oriented with the subject
on top:
- `keras_layer`: the project's Keras model trained by Keras's own loop on a backend vs that backend's own
  framework in the matching mode (KERAS_LAYER_REFERENCE: keras[jax] jit vs JAX jit, keras[tensorflow] jit vs
  TensorFlow XLA, keras[torch] eager vs torch eager ...). Step time keras / native: > 1 = the Keras layer
  (model definition and training loop together) costs that much.
- `jax`: JAX in each of its modes vs torch and TensorFlow in each of theirs. Step time JAX / other: < 1 = JAX
  faster.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from fwbench import constants as C
from fwbench.stats.comparisons import compare
from fwbench.stats.comparisons import empty_table as comparisons_table
from fwbench.stats.metrics import KEY_FIELDS, implementation_label

#: (Keras backend, keras mode) -> the backend framework's mode that does the same thing natively.
KERAS_LAYER_REFERENCE: dict[tuple[str, str], str] = {
    ("tensorflow", "eager"): "eager", ("tensorflow", "jit"): "xla",
    ("jax", "eager"): "eager", ("jax", "jit"): "jit",
    ("torch", "eager"): "eager", ("torch", "jit"): "compile",
}
CONTRASTS: tuple[str, ...] = ("keras_layer", "jax")
_SIDES = ("framework", "backend", "mode", "runtime")


def _side(row: dict, suffix: str) -> dict[str, str]:
    return {k: row[f"{k}_{suffix}"] for k in _SIDES}


def _contrast(subject: dict[str, str], reference: dict[str, str]) -> str | None:
    """Which contrast a (subject, reference) pair of natively run implementations belongs to, if any."""
    if subject["framework"] == "keras":
        wanted = KERAS_LAYER_REFERENCE.get((subject["backend"], subject["mode"]))
        native = {"framework": subject["backend"], "backend": C.NATIVE_BACKEND, "mode": wanted}
        return "keras_layer" if all(reference[k] == v for k, v in native.items()) else None
    if subject["framework"] == "jax" and reference["framework"] in C.CLAIMS_FRAMEWORKS:
        return "jax"
    return None


def framework_contrasts(per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray], *, seed: int, n_resamples: int,
                        margin: float) -> pl.DataFrame:
    """The table from the frameworks grid's runs of `per_run` (fwbench.stats.metrics.run_table; empty without)."""
    if "grid_name" not in per_run.columns:
        return empty_table()
    runs = per_run.filter(pl.col("grid_name") == C.FRAMEWORKS_GRID)
    if not runs.height:
        return empty_table()
    return contrast_rows(compare(runs, steps_by_run, margin=margin, seed=seed, n_resamples=n_resamples).table)


def contrast_rows(comparisons: pl.DataFrame) -> pl.DataFrame:
    """One row per scope, workload and contrast pair, from a comparisons table's step-time rows."""
    rows = []
    step = comparisons.filter((pl.col("metric") == "step_time") & (pl.col("variant") == C.STANDARD_VARIANT)
                              & (pl.col("runtime_a") == C.NATIVE_RUNTIME) & (pl.col("runtime_b") == C.NATIVE_RUNTIME))
    for row in step.iter_rows(named=True):
        for subject_side, reference_side in (("a", "b"), ("b", "a")):
            subject, reference = _side(row, subject_side), _side(row, reference_side)
            contrast = _contrast(subject, reference)
            if contrast is None:
                continue
            flip = subject_side == "b"  # the comparisons' ratio is A/B
            low, high = row["ratio_low"], row["ratio_high"]
            has_ci = low is not None and not math.isnan(low)
            rows.append({
                "system_id": row["system_id"], "contrast": contrast, **{k: row[k] for k in KEY_FIELDS},
                "subject": implementation_label(subject["framework"], subject["mode"], subject["backend"]),
                "reference": implementation_label(reference["framework"], reference["mode"], reference["backend"]),
                "backend": subject["backend"] if contrast == "keras_layer" else C.NATIVE_BACKEND,
                "ratio": 1.0 / row["ratio"] if flip else row["ratio"],
                "ratio_low": (1.0 / high if flip else low) if has_ci else math.nan,
                "ratio_high": (1.0 / low if flip else high) if has_ci else math.nan,
                "median_subject_ms": row[f"median_{subject_side}"],
                "median_reference_ms": row[f"median_{reference_side}"],
                "n_subject": row[f"n_{subject_side}"], "n_reference": row[f"n_{reference_side}"],
                "ci_excludes_1": row["ci_excludes_1"], "comparison_id": row["comparison_id"],
            })
    if not rows:
        return empty_table()
    order = ["system_id", "contrast", "model", "size", "phase", "backend", "subject", "reference"]
    return pl.DataFrame(rows, schema=empty_table().schema).sort(order)


def empty_table() -> pl.DataFrame:
    s, f, i, b = pl.String, pl.Float64, pl.Int64, pl.Boolean
    key_types = comparisons_table().schema
    return pl.DataFrame(schema={
        "system_id": s, "contrast": s, **{k: key_types[k] for k in KEY_FIELDS}, "subject": s, "reference": s,
        "backend": s, "ratio": f, "ratio_low": f, "ratio_high": f, "median_subject_ms": f,
        "median_reference_ms": f, "n_subject": i, "n_reference": i, "ci_excludes_1": b, "comparison_id": s})
