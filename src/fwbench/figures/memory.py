"""Memory: peak RSS above the post-import baseline, per cell and framework/mode (every run + median)."""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Peak memory above import"


def memory(data: FigureData) -> F.Figure:
    need = ["run_id", "framework", "mode", "model", "size", "phase", "peak_rss_above_import_mb"]
    why = F.require(data.runs, need, "runs")
    if why:
        return F.placeholder(TITLE, why)
    runs = F.standard(data.runs)
    runs = runs.filter(pl.col("status") == "ok") if "status" in runs.columns else runs
    frame = runs.filter(pl.col("peak_rss_above_import_mb").is_not_null())
    if frame.height == 0:
        return F.placeholder(TITLE, "no run recorded peak RSS")
    frame = F.with_jitter(F.cell_label(F.with_fw_mode(frame), ["model", "size"], "model_size"),
                          ["model_size", "phase", "fw_mode"])
    x = alt.X("fw_mode:N", title=None, sort=list(F.FW_MODES), axis=alt.Axis(labelAngle=-40))
    y = alt.Y("peak_rss_above_import_mb:Q", title="peak RSS above import (MB)")
    pick = alt.selection_point(fields=["fw_mode"], bind="legend")
    bars = alt.Chart().mark_bar(opacity=0.35).encode(
        x=x, y=alt.Y("median(peak_rss_above_import_mb):Q", title="peak RSS above import (MB)"),
        color=F.fw_mode_color(frame),
        tooltip=["fw_mode:N", alt.Tooltip("median(peak_rss_above_import_mb):Q", format=".1f", title="median MB"),
                 alt.Tooltip("count():Q", title="runs")]).add_params(pick)
    points = alt.Chart().mark_point(filled=True, size=22, color="black").encode(
        x=x, y=y, xOffset=alt.XOffset("jitter:Q"), opacity=alt.condition(pick, alt.value(0.7), alt.value(0.1)),
        tooltip=["fw_mode:N", "run_id:N", alt.Tooltip("peak_rss_above_import_mb:Q", format=".1f", title="MB")],
    )
    chart = (alt.layer(bars, points, data=frame).properties(width=150, height=F.HEIGHT)
             .facet(column=alt.Column("model_size:N", title=None), row=alt.Row("phase:N", title=None, sort=list(C.PHASES)))
             .resolve_scale(y="independent"))
    return F.Figure(chart)
