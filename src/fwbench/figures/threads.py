"""Thread scaling: median throughput (95% CI) against intra-op threads, per cell and framework/mode."""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Thread scaling"
Y_TITLE = "samples / s (median, 95% CI)"


def threads(data: FigureData) -> F.Figure:
    need = ["framework", "mode", "model", "size", "phase", "threads", "throughput_sps_median",
            "throughput_sps_low", "throughput_sps_high"]
    why = F.require(data.cell_stats, need, "cell_stats")
    if why:
        return F.placeholder(TITLE, why)
    frame = F.main_scope(F.standard(data.cell_stats)).filter(pl.col("throughput_sps_median").is_not_null())
    if frame.height == 0:
        return F.placeholder(TITLE, "no cell has a steady-state throughput")
    counts = sorted(set(frame["threads"].to_list()))
    if len(counts) < 2:
        return F.placeholder(TITLE, f"every cell ran with {counts[0]} thread(s); scaling needs two or more counts")
    frame = F.cell_label(F.with_fw_mode(frame), ["model", "size"], "model_size")
    other = F.varying(frame, ["device", "batch_size", "seq_len"], within=["model_size", "phase"])
    frame = F.cell_label(frame, ["fw_mode", *other], "series")
    x = alt.X("threads:Q", title="intra-op threads", scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=counts))
    y = alt.Y("throughput_sps_median:Q", title=Y_TITLE)
    pick = alt.selection_point(fields=["fw_mode"], bind="legend")
    color = F.fw_mode_color(frame)
    tooltip = ["series:N", "threads:Q", alt.Tooltip("throughput_sps_median:Q", format=".1f"),
               alt.Tooltip("throughput_sps_low:Q", format=".1f"), alt.Tooltip("throughput_sps_high:Q", format=".1f")]
    line = alt.Chart().mark_line(point=True).encode(
        x=x, y=y, color=color, detail="series:N", tooltip=tooltip,
        opacity=alt.condition(pick, alt.value(0.9), alt.value(0.15))).add_params(pick)
    errs = alt.Chart().mark_errorbar(ticks=True).encode(x=x, y=alt.Y("throughput_sps_low:Q", title=Y_TITLE),
                                                          y2="throughput_sps_high:Q",
                                                          color=color, detail="series:N")
    chart = (alt.layer(line, errs, data=frame).properties(width=F.WIDTH, height=F.HEIGHT)
             .facet(column=alt.Column("model_size:N", title=None), row=alt.Row("phase:N", title=None, sort=list(C.PHASES)))
             .resolve_scale(y="independent"))
    return F.Figure(chart)
