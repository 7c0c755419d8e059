"""Outlying runs by Tukey fences, per cell and system: reported in a table, never deleted."""

from __future__ import annotations

import numpy as np
import polars as pl

from fwbench.stats.metrics import METRICS

FENCE_K = 1.5
MIN_RUNS = 4  # quartiles of fewer runs say nothing


def tukey_outliers(runs: pl.DataFrame, k: float = FENCE_K) -> pl.DataFrame:
    """Runs outside [Q1 - k IQR, Q3 + k IQR] of their cell's per-run metric (per system_id)."""
    rows = []
    for metric in METRICS.values():
        for (sid, cid), group in runs.group_by(["system_id", "cell_id"], maintain_order=True):
            sub = group.filter(pl.col(metric.column).is_not_null())
            if sub.height < MIN_RUNS:
                continue
            values = sub.get_column(metric.column).to_numpy()
            q1, q3 = np.quantile(values, [0.25, 0.75])
            low, high = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
            for rid, rep, v in sub.select("run_id", "repetition", metric.column).iter_rows():
                if v < low or v > high:
                    rows.append({"system_id": sid, "cell_id": cid, "run_id": rid, "repetition": rep,
                                 "metric": metric.name, "value": float(v), "q1": float(q1), "q3": float(q3),
                                 "low_fence": float(low), "high_fence": float(high),
                                 "side": "high" if v > high else "low", "kept": True})
    schema = {"system_id": pl.String, "cell_id": pl.String, "run_id": pl.String, "repetition": pl.Int64,
              "metric": pl.String, "value": pl.Float64, "q1": pl.Float64, "q3": pl.Float64,
              "low_fence": pl.Float64, "high_fence": pl.Float64, "side": pl.String, "kept": pl.Boolean}
    return pl.DataFrame(rows, schema=schema)
