"""Which runtime? Request latency percentiles at batch 1 and throughput at large batches, per runtime.

Latency from cell_stats (the median over runs of each run's p50/p90/p99 request latency, with the
bootstrap CI across runs); throughput from the which_runtime table (samples/s from the median step
time, with its CI). One row per framework and runtime (native = the framework's own default mode).
"""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData

LATENCY_TITLE = "Request latency per runtime (batch 1)"
THROUGHPUT_TITLE = "Throughput per runtime (large batches)"


#: Smallest batch the throughput figure shows (MLPerf Offline-like; the which_runtime table has every batch).
LARGE_BATCH = 128


def _candidate(frame: pl.DataFrame) -> pl.DataFrame:
    """'framework / runtime', or 'framework / mode' for the framework's own (native) modes."""
    served_by = pl.when(pl.col("runtime") == C.NATIVE_RUNTIME).then(pl.col("mode")).otherwise(pl.col("runtime"))
    return frame.with_columns(candidate=pl.concat_str([pl.col("framework"), served_by], separator=" / "))


def latency(data: FigureData) -> F.Figure:
    need = ["model", "phase", "batch_size", "framework", "mode", "runtime",
            *[f"p{q}_ms_median" for q in C.LATENCY_PERCENTILES]]
    why = F.require(data.cell_stats, need, "cell_stats")
    if why:
        return F.placeholder(LATENCY_TITLE, why)
    stats = F.main_scope(data.cell_stats).filter(
        (pl.col("phase") == "infer") & (pl.col("batch_size") == 1) & (pl.col("variant") == C.STANDARD_VARIANT)
        & pl.col("p99_ms_median").is_not_nan())
    if stats.height == 0:
        return F.placeholder(LATENCY_TITLE, "no inference cell at batch 1 with latency percentiles "
                                            "(workflow/grids/runtimes.yaml measures them)")
    long = pl.concat([_candidate(stats).select(
        "model", "candidate", pl.lit(f"p{q}").alias("percentile"), pl.col(f"p{q}_ms_median").alias("ms"),
        pl.col(f"p{q}_ms_low").alias("low"), pl.col(f"p{q}_ms_high").alias("high")) for q in C.LATENCY_PERCENTILES])
    scale = alt.Scale(type="log", nice=False, zero=False)
    y = alt.Y("candidate:N", title=None, sort=sorted(set(long["candidate"].to_list())))
    color = alt.Color("percentile:N", title="percentile", sort=[f"p{q}" for q in C.LATENCY_PERCENTILES],
                      legend=alt.Legend(orient="bottom"))
    tooltip = ["model:N", "candidate:N", "percentile:N", alt.Tooltip("ms:Q", format=".3f"),
               alt.Tooltip("low:Q", format=".3f", title="95% CI low"), alt.Tooltip("high:Q", format=".3f",
                                                                                 title="95% CI high")]
    base = alt.Chart().encode(y=y, color=color, tooltip=tooltip)
    bars = base.mark_rule(strokeWidth=1.5).encode(x=alt.X("low:Q", scale=scale, title="request latency (ms, log)"),
                                                   x2="high:Q")
    points = base.mark_point(filled=True, size=40).encode(x=alt.X("ms:Q", scale=scale))
    chart = alt.layer(bars, points, data=long).properties(width=300, height=alt.Step(12)).facet(
        row=alt.Row("model:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
    return F.Figure(chart.resolve_scale(y="independent"))


def throughput(data: FigureData) -> F.Figure:
    need = ["scenario", "model", "batch_size", "framework", "mode", "runtime", "throughput_sps", "median_low",
            "median_high"]
    why = F.require(data.which_runtime, need, "which_runtime")
    if why:
        return F.placeholder(THROUGHPUT_TITLE, why)
    frame = F.main_scope(data.which_runtime).filter((pl.col("scenario") == "throughput")
                                                    & (pl.col("batch_size") >= LARGE_BATCH))
    if frame.height == 0:
        return F.placeholder(THROUGHPUT_TITLE, f"no inference workload at batch {LARGE_BATCH} or more in the "
                                               "which_runtime table (workflow/grids/runtimes.yaml measures them)")
    frame = _candidate(frame).with_columns(
        workload=pl.concat_str([pl.col("model"), pl.lit(" batch "), pl.col("batch_size").cast(pl.String)]),
        low=pl.col("batch_size") * 1000.0 / pl.col("median_high"),
        high=pl.col("batch_size") * 1000.0 / pl.col("median_low"),
        tied=pl.when(pl.col("fastest")).then(pl.lit("fastest")).when(pl.col("tied_with_fastest"))
        .then(pl.lit("tied with the fastest")).otherwise(pl.lit("slower")))
    y = alt.Y("candidate:N", title=None, sort=alt.SortField("rank"))
    color = alt.Color("tied:N", title=None, sort=["fastest", "tied with the fastest", "slower"],
                      legend=alt.Legend(orient="bottom"))
    tooltip = ["workload:N", "candidate:N", "tied:N", alt.Tooltip("throughput_sps:Q", format=",.0f"),
               alt.Tooltip("low:Q", format=",.0f", title="95% CI low"),
               alt.Tooltip("high:Q", format=",.0f", title="95% CI high"), alt.Tooltip("n_runs:Q", title="runs")]
    base = alt.Chart().encode(y=y, color=color, tooltip=[t for t in tooltip if F.field_name(t) in frame.columns])
    bars = base.mark_rule(strokeWidth=1.5).encode(x=alt.X("low:Q", title="samples/s"), x2="high:Q")
    points = base.mark_point(filled=True, size=45).encode(x="throughput_sps:Q")
    chart = alt.layer(bars, points, data=frame).properties(width=300, height=alt.Step(12)).facet(
        row=alt.Row("workload:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
    return F.Figure(chart.resolve_scale(y="independent", x="independent"))
