"""Throughput per model x framework x mode with 95% CI bars, from cell_stats."""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Throughput"
EXTRA = ["device", "threads", "batch_size", "seq_len"]


def throughput(data: FigureData) -> F.Figure:
    need = ["framework", "mode", "model", "size", "phase", "throughput_sps_median", "throughput_sps_low", "throughput_sps_high"]
    why = F.require(data.cell_stats, need, "cell_stats")
    if why:
        return F.placeholder(TITLE, why)
    frame = F.main_scope(F.standard(data.cell_stats)).filter(pl.col("throughput_sps_median").is_not_null())
    if frame.height == 0:
        return F.placeholder(TITLE, "no cell has a steady-state throughput")
    frame = F.cell_label(F.with_fw_mode(frame), ["model", "size"], "model_size")
    extra = F.varying(frame, EXTRA, within=["model_size", "phase"])
    frame = F.cell_label(frame, extra, "setting") if extra else frame.with_columns(setting=pl.lit(""))
    tooltip = ["fw_mode:N", "model_size:N", "phase:N", *[f"{c}:N" for c in extra],
               alt.Tooltip("throughput_sps_median:Q", format=".1f", title="samples/s (median)"),
               alt.Tooltip("throughput_sps_low:Q", format=".1f", title="95% CI low"),
               alt.Tooltip("throughput_sps_high:Q", format=".1f", title="95% CI high")]
    tooltip += [alt.Tooltip(f"{c}:Q", title=t) for c, t in
                (("n_runs", "runs"), ("n_ok", "ok runs"), ("n_excluded", "excluded runs")) if c in frame.columns]
    pick = alt.selection_point(fields=["fw_mode"], bind="legend")
    if extra:
        x = alt.X("setting:N", title=None, axis=alt.Axis(labelAngle=-30))
        offset = {"xOffset": alt.XOffset("fw_mode:N", sort=list(F.FW_MODES))}
    else:
        x = alt.X("fw_mode:N", title=None, sort=list(F.FW_MODES), axis=alt.Axis(labels=False, ticks=False))
        offset = {}
    base = alt.Chart().encode(x=x, color=F.fw_mode_color(frame), tooltip=tooltip, **offset)
    bars = base.mark_bar().encode(
        y=alt.Y("throughput_sps_median:Q", title="samples / s (median of runs)"),
        opacity=alt.condition(pick, alt.value(0.9), alt.value(0.25)),
    ).add_params(pick)
    errs = base.mark_errorbar(ticks=True, color="black").encode(
        y=alt.Y("throughput_sps_low:Q", title="samples / s (median of runs)"), y2="throughput_sps_high:Q")
    chart = (
        alt.layer(bars, errs, data=frame)
        .properties(width=F.WIDTH, height=F.HEIGHT)
        .facet(column=alt.Column("model_size:N", title=None), row=alt.Row("phase:N", title=None, sort=list(C.PHASES)))
        .resolve_scale(x="independent", xOffset="independent", y="independent")
    )
    return F.Figure(chart)
