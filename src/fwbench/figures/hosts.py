"""Per-host comparison: median throughput of the same cells on every host (system_id) in the dataset."""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Per-host comparison"


def hosts(data: FigureData) -> F.Figure:
    need = ["system_id", "framework", "mode", "model", "size", "phase", "throughput_sps_median",
            "throughput_sps_low", "throughput_sps_high"]
    why = F.require(data.cell_stats, need, "cell_stats")
    if why:
        return F.placeholder(TITLE, why)
    stats = F.per_host(F.standard(data.cell_stats)).filter(pl.col("throughput_sps_median").is_not_null())
    ids = sorted(set(stats["system_id"].to_list()))
    if not ids:
        return F.placeholder(TITLE, "no cell has a steady-state throughput")
    if len(ids) < 2:
        return F.placeholder(TITLE, f"one host in the dataset (system_id {ids[0]}); "
                                    "a per-host comparison needs runs from two or more")
    key = [c for c in ["framework", "mode", "model", "size", "phase", "device", "threads", "batch_size", "seq_len"]
           if c in stats.columns]
    shared = stats.group_by(key).agg(n_hosts=pl.col("system_id").n_unique()).filter(pl.col("n_hosts") > 1)
    if shared.height == 0:
        return F.placeholder(TITLE, f"{len(ids)} hosts but no cell measured on more than one")
    frame = stats.join(shared.select(key), on=key, maintain_order="left")  # row order = bytes of the spec
    frame = F.cell_label(F.with_fw_mode(frame), ["model", "size"], "model_size")
    frame = frame.with_columns(host=pl.col("system_id"))
    if F.require(data.systems, ["system_id", "host_processor_model_name"], "systems") == "":
        names = data.systems.select(["system_id", "host_processor_model_name"]).unique("system_id")
        frame = frame.join(names, on="system_id", how="left", maintain_order="left").with_columns(
            host=pl.concat_str([pl.col("system_id"), pl.col("host_processor_model_name").fill_null("?")],
                               separator=" "))
    other = F.varying(frame, ["device", "threads", "batch_size", "seq_len"], within=["model_size", "phase"])
    frame = F.cell_label(frame, ["fw_mode", *other], "series")
    x = alt.X("series:N", title=None, axis=alt.Axis(labelAngle=-40))
    pick = alt.selection_point(fields=["host"], bind="legend")
    tooltip = ["host:N", "series:N", alt.Tooltip("throughput_sps_median:Q", format=".1f"),
               alt.Tooltip("throughput_sps_low:Q", format=".1f"), alt.Tooltip("throughput_sps_high:Q", format=".1f")]
    base = alt.Chart().encode(x=x, xOffset="host:N", tooltip=tooltip)
    bars = base.mark_bar().encode(
        y=alt.Y("throughput_sps_median:Q", title="samples / s (median, 95% CI)"),
        color=alt.Color("host:N", title="host", legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
        opacity=alt.condition(pick, alt.value(0.9), alt.value(0.2))).add_params(pick)
    errs = base.mark_errorbar(ticks=True, color="black").encode(
        y=alt.Y("throughput_sps_low:Q", title="samples / s (median, 95% CI)"), y2="throughput_sps_high:Q")
    chart = (alt.layer(bars, errs, data=frame).properties(width=F.WIDTH + 60, height=F.HEIGHT)
             .facet(column=alt.Column("model_size:N", title=None), row=alt.Row("phase:N", title=None, sort=list(C.PHASES)))
             .resolve_scale(x="independent", xOffset="independent", y="independent"))
    return F.Figure(chart)
