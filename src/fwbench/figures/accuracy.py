"""Accuracy track (C08): validation accuracy against epoch and against training wall time, both
frameworks, the median over seeds as a line and the min-max band over seeds, one row per model.

Reads `accuracy_runs` and `accuracy_epochs` from FigureData (finished runs only). The wall-time
panel places each epoch at the median over seeds of the cumulative training time (evaluation
excluded), so it shows time-to-accuracy as well as accuracy per epoch.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F

TITLE = "Accuracy over epochs and training time"
AXES = ("epoch", "training time (s)")


def _frame(data: Any, name: str) -> pl.DataFrame:
    frame = getattr(data, name, None)
    return frame if isinstance(frame, pl.DataFrame) else pl.DataFrame()


def accuracy_bands(runs: pl.DataFrame, epochs: pl.DataFrame) -> pl.DataFrame:
    """Per model label, framework and epoch: median/min/max val accuracy and median elapsed time over seeds."""
    done = runs.filter(pl.col("status") == "ok")
    done = F.cell_label(done, ["model", "size", "dataset"], "config")
    curves = epochs.join(done.select("run_id", "framework", "config"), on="run_id")
    return (curves.group_by("config", "framework", "epoch")
            .agg(pl.col("val_accuracy").median().alias("median"), pl.col("val_accuracy").min().alias("low"),
                 pl.col("val_accuracy").max().alias("high"), pl.col("elapsed_s").median().alias("elapsed_s"),
                 pl.len().alias("n_seeds"))
            .sort("config", "framework", "epoch"))


def accuracy(data: Any) -> F.Figure:
    runs, epochs = _frame(data, "accuracy_runs"), _frame(data, "accuracy_epochs")
    why = (F.require(runs, ["run_id", "framework", "model", "size", "dataset", "status"], "accuracy_runs")
           or F.require(epochs, ["run_id", "epoch", "val_accuracy", "elapsed_s"], "accuracy_epochs"))
    if why:
        return F.placeholder(TITLE, why)
    bands = accuracy_bands(runs, epochs)
    if bands.height == 0:
        return F.placeholder(TITLE, "no finished accuracy run")
    long = pl.concat([bands.with_columns(axis=pl.lit(AXES[0]), x=pl.col("epoch").cast(pl.Float64)),
                      bands.with_columns(axis=pl.lit(AXES[1]), x=pl.col("elapsed_s"))])
    present = [fw for fw in C.CLAIMS_FRAMEWORKS if fw in set(long["framework"].to_list())]
    color = alt.Color("framework:N", title="framework",
                      scale=alt.Scale(domain=present, range=[F.FRAMEWORK_COLORS[fw] for fw in present]),
                      legend=alt.Legend(orient="bottom"))
    tooltip = ["framework:N", "config:N", "epoch:Q", alt.Tooltip("elapsed_s:Q", format=".1f", title="training s"),
               alt.Tooltip("median:Q", format=".4f", title="median val accuracy"),
               alt.Tooltip("low:Q", format=".4f", title="min over seeds"),
               alt.Tooltip("high:Q", format=".4f", title="max over seeds"), alt.Tooltip("n_seeds:Q", title="seeds")]
    x = alt.X("x:Q", title=None)
    band = alt.Chart().mark_area(opacity=0.2).encode(x=x, y=alt.Y("low:Q", title="validation accuracy"),
                                                     y2="high:Q", color=color)
    line = alt.Chart().mark_line(point=True).encode(x=x, y=alt.Y("median:Q", title="validation accuracy"),
                                                    color=color, tooltip=tooltip)
    chart = (alt.layer(band, line, data=long).properties(width=220, height=F.HEIGHT)
             .facet(column=alt.Column("axis:N", title=None, sort=list(AXES)), row=alt.Row("config:N", title=None))
             .resolve_scale(x="independent", y="independent"))
    return F.Figure(chart)
