"""Per-cell summaries with bootstrap CIs across process runs, per system and pooled.

Every interval states its method (BCa, percentile, or why there is none) and every row keeps its
run counts: n_runs (records), n_ok (status ok), n_failed, n_excluded (ok but no steady state) and
the reasons, so nothing is silently dropped.
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from fwbench.stats.bootstrap import N_RESAMPLES, SEED, median_ci
from fwbench.stats.metrics import CELL_FIELDS, LATENCY_COLUMNS, in_scope, scopes

# column in the run table -> prefix of the cell_stats columns
SUMMARIES: dict[str, str] = {
    "step_ms": "step_ms",
    "throughput_sps": "throughput_sps",
    "first_step_s": "first_step_s",
    "first_step_warm_s": "first_step_warm_s",
    "peak_rss_above_import_mb": "peak_rss_above_import_mb",
    "peak_rss_mb": "peak_rss_mb",
    "device_peak_mb": "device_peak_mb",
    **{column: column for column in LATENCY_COLUMNS},
}


def _summary(prefix: str, values: list[float], seed: int, n_resamples: int) -> dict[str, object]:
    ci = median_ci(values, seed=seed, n_resamples=n_resamples)
    return {f"{prefix}_median": ci.estimate, f"{prefix}_low": ci.low, f"{prefix}_high": ci.high,
            f"{prefix}_ci_method": ci.method, f"{prefix}_n": ci.n}


def cell_stats(runs: pl.DataFrame, *, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> pl.DataFrame:
    """One row per (system_id, cell_id) and per pooled cell_id, from fwbench.stats.metrics.run_table."""
    rows = []
    for scope in scopes(runs):
        table = in_scope(runs, scope)
        for (cid,), group in table.sort("cell_id").group_by(["cell_id"], maintain_order=True):
            first = group.row(0, named=True)
            status = group.get_column("status").to_list()
            excluded = group.filter((pl.col("status") == "ok") & ~pl.col("steady_ok").fill_null(False))
            reasons = Counter(excluded.get_column("excluded_reason").to_list())
            row: dict[str, object] = {
                "system_id": scope, "cell_id": cid, **{f: first[f] for f in CELL_FIELDS},
                "n_systems": group.get_column("system_id").n_unique(),
                "n_runs": len(status), "n_ok": status.count("ok"),
                "n_failed": len(status) - status.count("ok"), "n_excluded": excluded.height,
                "n_nonstationary": group.filter(pl.col("steady_ok").fill_null(False)
                                                & ~pl.col("stationary").fill_null(True)).height,
                "excluded_reasons": "; ".join(f"{r} (x{k})" for r, k in sorted(reasons.items())) or None,
                "failed_statuses": ", ".join(sorted({s for s in status if s != "ok"})) or None,
            }
            for column, prefix in SUMMARIES.items():
                values = group.get_column(column).drop_nulls().to_list() if column in group.columns else []
                row.update(_summary(prefix, values, seed, n_resamples))
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)
