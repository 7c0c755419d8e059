"""Runs measured while the machine was not itself: canary or CPU steal far from its campaign's median.

Every run records a canary (a fixed single-threaded BLAS kernel timed just before it) and the CPU
steal over it (fwbench.harness.machine_state). A shared VM can slow everything for minutes; a run
whose canary is far slower or faster than its campaign's median, or that lost clearly more CPU to
steal, was measured on a different machine in effect. Such runs are flagged, counted and listed,
never dropped: the reader decides, with the numbers beside the verdicts.
"""

from __future__ import annotations

import polars as pl

#: A canary more than this fraction away from its campaign's median flags the run.
CANARY_TOLERANCE = 0.20
#: Steal more than this many percentage points above its campaign's median flags the run.
STEAL_MARGIN_PCT = 2.0

COLUMNS: dict[str, pl.DataType] = {
    "run_id": pl.String(), "campaign_id": pl.String(), "system_id": pl.String(), "cell_id": pl.String(),
    "canary_ms": pl.Float64(), "campaign_canary_ms": pl.Float64(), "canary_ratio": pl.Float64(),
    "steal_pct": pl.Float64(), "campaign_steal_pct": pl.Float64(), "flagged": pl.Boolean(), "reason": pl.String(),
}


def machine_flags(runs: pl.DataFrame) -> pl.DataFrame:
    """One row per run that recorded a canary or steal, with its campaign's medians and the verdict."""
    if not {"canary_ms", "steal_pct", "campaign_id"} <= set(runs.columns):
        return pl.DataFrame(schema=COLUMNS)
    measured = runs.filter(pl.col("canary_ms").is_not_null() | pl.col("steal_pct").is_not_null())
    if measured.height == 0:
        return pl.DataFrame(schema=COLUMNS)
    table = (measured.select("run_id", "campaign_id", "system_id", "cell_id", "canary_ms", "steal_pct")
             .with_columns(pl.col("canary_ms").median().over("campaign_id").alias("campaign_canary_ms"),
                           pl.col("steal_pct").median().over("campaign_id").alias("campaign_steal_pct"))
             .with_columns((pl.col("canary_ms") / pl.col("campaign_canary_ms")).alias("canary_ratio")))
    slow = (pl.col("canary_ratio") - 1).abs() > CANARY_TOLERANCE
    stolen = pl.col("steal_pct") > pl.col("campaign_steal_pct") + STEAL_MARGIN_PCT
    reason = pl.concat_str([
        pl.when(slow).then(pl.format("canary {}x its campaign's median", pl.col("canary_ratio").round(2))),
        pl.when(stolen).then(pl.format("steal {}% (campaign median {}%)", pl.col("steal_pct").round(1),
                                       pl.col("campaign_steal_pct").round(1))),
    ], separator="; ", ignore_nulls=True)
    return (table.with_columns(flagged=(slow.fill_null(False) | stolen.fill_null(False)),
                               reason=pl.when(reason == "").then(None).otherwise(reason))
            .select(list(COLUMNS)).sort("campaign_id", "run_id"))
