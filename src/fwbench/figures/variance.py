"""Where the variance comes from: per cell, the shares of log-step-time variance from campaigns,
from processes within a campaign and from steps within a process (fwbench.stats.reproducibility)."""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Variance by level: campaign, process, step"
LEVELS: dict[str, str] = {"campaign_share": "campaign", "process_share": "process", "step_share": "step"}


def variance(data: FigureData) -> F.Figure:
    need = ["cell_id", "framework", "mode", "model", "size", "phase", "threads", "n_campaigns", "n_runs",
            *LEVELS]
    why = F.require(data.variance, need, "variance")
    if why:
        return F.placeholder(TITLE, why)
    frame = F.cell_label(F.with_fw_mode(F.standard(data.variance)), ["model", "size", "phase", "fw_mode", "threads"])
    long = (frame.unpivot(index=["cell", "cell_id", "model", "n_campaigns", "n_runs"], on=list(LEVELS),
                          variable_name="level", value_name="share")
            .filter(pl.col("share").is_not_null())
            .with_columns(pl.col("level").replace_strict(LEVELS))
            .sort("model", "cell", "level"))
    if long.height == 0:
        return F.placeholder(TITLE, "no cell has two or more usable runs")
    order = list(LEVELS.values())
    chart = alt.Chart(long).mark_bar().encode(
        y=alt.Y("cell:N", title=None, sort=sorted(set(long["cell"].to_list())), axis=alt.Axis(labelLimit=400)),
        x=alt.X("share:Q", stack="normalize", title="share of the variance of log step time",
                axis=alt.Axis(format="%")),
        color=alt.Color("level:N", sort=order, title="level",
                        scale=alt.Scale(domain=order, range=["#d62728", "#1f77b4", "#c7c7c7"])),
        order=alt.Order("level_order:Q"),
        tooltip=["cell:N", "level:N", alt.Tooltip("share:Q", format=".0%"), "n_campaigns:Q", "n_runs:Q"],
    ).transform_calculate(level_order=f"indexof({order!r}, datum.level)").properties(width=F.WIDTH * 2)
    return F.Figure(chart)
