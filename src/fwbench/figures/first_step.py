"""First-step cost (graph trace / compile) per framework and mode: every run, and the median."""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "First-step cost"


def first_step(data: FigureData) -> F.Figure:
    need = ["run_id", "framework", "mode", "model", "size", "phase", "first_step_s"]
    why = F.require(data.runs, need, "runs")
    if why:
        return F.placeholder(TITLE, why)
    runs = F.standard(data.runs)
    runs = runs.filter(pl.col("status") == "ok") if "status" in runs.columns else runs
    frame = runs.filter(pl.col("first_step_s").is_not_null() & (pl.col("first_step_s") > 0))
    if frame.height == 0:
        return F.placeholder(TITLE, "no run recorded a first-step time")
    frame = F.with_jitter(F.cell_label(F.with_fw_mode(frame), ["model", "size"], "model_size"),
                          ["model_size", "phase", "fw_mode"])
    cache = "compile_cache_state" if "compile_cache_state" in frame.columns else None
    tooltip = ["fw_mode:N", "model_size:N", "phase:N", "run_id:N",
               alt.Tooltip("first_step_s:Q", format=".3f", title="first step (s)")]
    if cache:
        tooltip.append(alt.Tooltip(f"{cache}:N", title="compile cache"))
    x = alt.X("fw_mode:N", title=None, sort=list(F.FW_MODES), axis=alt.Axis(labelAngle=-40))
    y = alt.Y("first_step_s:Q", scale=alt.Scale(type="log"), title="first step (s, log scale)")
    pick = alt.selection_point(fields=["fw_mode"], bind="legend")
    points = alt.Chart().mark_point(filled=True, size=28).encode(
        x=x, y=y, color=F.fw_mode_color(frame), tooltip=tooltip,
        shape=alt.Shape(f"{cache}:N", title="compile cache", legend=alt.Legend(orient="bottom")) if cache else alt.Undefined,
        xOffset=alt.XOffset("jitter:Q"), opacity=alt.condition(pick, alt.value(0.75), alt.value(0.1)),
    ).add_params(pick)
    median = alt.Chart().mark_tick(color="black", thickness=2, size=18).encode(
        x=x, y=alt.Y("median(first_step_s):Q", scale=alt.Scale(type="log")),
        tooltip=[alt.Tooltip("median(first_step_s):Q", format=".3f", title="median first step (s)")])
    chart = (alt.layer(points, median, data=frame).properties(width=150, height=F.HEIGHT)
             .facet(column=alt.Column("model_size:N", title=None), row=alt.Row("phase:N", title=None, sort=list(C.PHASES))))
    return F.Figure(chart)
