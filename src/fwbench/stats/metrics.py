"""Per-run statistics: the one table every later step (cells, comparisons, claims) reads.

A run contributes to step time and throughput when its status is ok and it has measured steps to
summarise (a non-stationary run with its all-steps fallback, flagged: fwbench.stats.steady_state); to
first-step cost and memory whenever its status is ok (those are measured before
and independently of the steady state). Excluded runs keep their row and reason. First-step cost
is split by compile-cache state: `first_step_s` is the cost of a fresh start (cache cold or not
used), `first_step_warm_s` the cost with a warm on-disk cache; the two are never pooled.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from fwbench import constants as C
from fwbench.cells import DEFAULTED_FIELDS, Cell, implementation_name
from fwbench.stats.steady_state import detect_steady_state

LATENCY_COLUMNS: tuple[str, ...] = tuple(f"p{q}_ms" for q in C.LATENCY_PERCENTILES)
CELL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Cell))
#: What is measured (framework, its Keras backend, mode, inference runtime) vs the workload it is measured on
#: (KEY_FIELDS: model, size, phase, batch, sequence, device, threads, dtype, implementation variant). Comparisons
#: pair implementations of one workload; the variant is a workload field with its own pairing rule.
IMPLEMENTATION_FIELDS: tuple[str, ...] = ("framework", "backend", "mode", "runtime")
KEY_FIELDS: tuple[str, ...] = tuple(f for f in CELL_FIELDS if f not in IMPLEMENTATION_FIELDS)
CELL_COLUMNS: tuple[str, ...] = ("cell_id", *IMPLEMENTATION_FIELDS, *KEY_FIELDS)


def implementation_order(row: dict) -> tuple[int, int, int, int]:
    """Vocabulary order of a cell's implementation (torch before tensorflow before jax before keras; eager
    before compiled modes; native before exported runtimes): the A side of a comparison is the earlier one."""
    framework = row["framework"]
    return (C.FRAMEWORKS.index(framework), C.ALL_BACKENDS.index(row.get("backend", C.NATIVE_BACKEND)),
            C.MODES[framework].index(row["mode"]), C.ALL_RUNTIMES.index(row.get("runtime", C.NATIVE_RUNTIME)))


def implementation_label(framework: str, mode: str, backend: str = C.NATIVE_BACKEND,
                         runtime: str = C.NATIVE_RUNTIME) -> str:
    """How tables, sentences and figures name an implementation: 'torch eager', 'keras[jax] jit',
    'torch eager -> onnxruntime' (an exported runtime names the mode it was exported from)."""
    exported = "" if runtime == C.NATIVE_RUNTIME else f" -> {runtime}"
    return f"{implementation_name(framework, backend)} {mode}{exported}"


POOLED = "pooled"


@dataclass(frozen=True)
class Metric:
    """A per-run quantity that cells and comparisons summarise."""

    name: str
    column: str
    unit: str
    label: str
    hierarchical: bool  # ratio CI resamples steps within runs too


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("step_time", "step_ms", "ms", "median steady-state step time", True),
        Metric("first_step", "first_step_s", "s", "first step (trace/compile included), cold or no cache", False),
        Metric("first_step_warm", "first_step_warm_s", "s", "first step with a warm compile cache", False),
        Metric("memory", "peak_rss_above_import_mb", "MB", "peak RSS above the post-import baseline", False),
        Metric("memory_total", "peak_rss_mb", "MB", "total peak RSS (framework import included)", False),
        Metric("device_memory", "device_peak_mb", "MB", "framework peak device memory", False),
    )
}


def measured_steps(steps: pl.DataFrame) -> dict[str, np.ndarray]:
    """Measured step times of each run, in step order."""
    grouped = (
        steps.filter(pl.col("phase") == "measured")
        .sort(["run_id", "step_index"])
        .group_by("run_id", maintain_order=True)
        .agg(pl.col("ms"))
    )
    return {rid: np.asarray(ms, dtype=float) for rid, ms in grouped.iter_rows()}


STEADY_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String, "ok": pl.Boolean, "stationary": pl.Boolean, "reason": pl.String, "n_measured": pl.Int64,
    "steady_start": pl.Int64, "stat_start": pl.Int64, "n_steady": pl.Int64, "steady_median_ms": pl.Float64,
    "all_median_ms": pl.Float64, "drift_pct": pl.Float64, "n_change_points": pl.Int64}


def steady_state_table(runs: pl.DataFrame, steps: pl.DataFrame) -> pl.DataFrame:
    """One row per run: detected steady state, the run statistic, why a run is excluded or flagged."""
    series = measured_steps(steps)
    rows = []
    for run in runs.select("run_id", "system_id", "cell_id", "status", "error").iter_rows(named=True):
        if run["status"] != "ok":
            reason = f"status {run['status']}" + (f": {run['error']}" if run["error"] else "")
            rows.append({"run_id": run["run_id"], "ok": False, "stationary": None, "reason": reason,
                         "n_measured": len(series.get(run["run_id"], ())), "steady_start": None, "stat_start": None,
                         "n_steady": 0, "steady_median_ms": None, "all_median_ms": None,
                         "drift_pct": None, "n_change_points": 0})
            continue
        state = detect_steady_state(series.get(run["run_id"], np.array([])))
        rows.append({"run_id": run["run_id"], **state.to_dict()})
    table = pl.DataFrame(rows, schema=STEADY_SCHEMA)
    return runs.select("run_id", "system_id", "cell_id", "status").join(table, on="run_id", how="left")


def steady_steps(steps: pl.DataFrame, steady: pl.DataFrame) -> dict[str, np.ndarray]:
    """The steps each usable run's statistic reads (input of the hierarchical bootstrap): its steady state,
    or every measured step for a non-stationary run."""
    series = measured_steps(steps)
    return {rid: series[rid][start:] for rid, start in
            steady.filter(pl.col("ok")).select("run_id", "stat_start").iter_rows()}


def with_cell_defaults(runs: pl.DataFrame) -> pl.DataFrame:
    """Runs with the cell fields added after the first runs (`variant`, `runtime`, `backend`): frames made before
    them hold standard models run natively."""
    missing = [pl.lit(value).alias(name) for name, value in DEFAULTED_FIELDS.items() if name not in runs.columns]
    return runs.with_columns(missing) if missing else runs


def run_table(runs: pl.DataFrame, steady: pl.DataFrame) -> pl.DataFrame:
    """Runs with their cell fields and per-run metrics (null where a run does not contribute)."""
    ok = pl.col("status") == "ok"
    if "compile_cache_state" not in runs.columns:
        runs = runs.with_columns(pl.lit("none").alias("compile_cache_state"))
    runs = with_cell_defaults(runs)
    warm = pl.col("compile_cache_state") == "warm"
    return (
        runs.join(steady.select("run_id", pl.col("ok").alias("steady_ok"), "stationary",
                                pl.col("reason").alias("excluded_reason"), "steady_median_ms"), on="run_id", how="left")
        .with_columns(
            pl.when(ok & pl.col("steady_ok")).then(pl.col("steady_median_ms")).otherwise(None).alias("step_ms"),
            pl.when(ok & ~warm).then(pl.col("first_step_s").cast(pl.Float64)).otherwise(None).alias("first_step_s"),
            pl.when(ok & warm).then(pl.col("first_step_s").cast(pl.Float64)).otherwise(None)
            .alias("first_step_warm_s"),
            *[pl.when(ok).then(pl.col(c).cast(pl.Float64)).otherwise(None).alias(c)
              for c in ("peak_rss_above_import_mb", "peak_rss_mb", "device_peak_mb", *LATENCY_COLUMNS)
              if c in runs.columns],
        )
        .with_columns((pl.col("batch_size") * 1000.0 / pl.col("step_ms")).alias("throughput_sps"))
    )


def scopes(runs: pl.DataFrame) -> list[str]:
    """Each system_id, then 'pooled' (all systems together): host is a factor."""
    return [*sorted(runs.get_column("system_id").unique().to_list()), POOLED]


def in_scope(table: pl.DataFrame, scope: str) -> pl.DataFrame:
    return table if scope == POOLED else table.filter(pl.col("system_id") == scope)
