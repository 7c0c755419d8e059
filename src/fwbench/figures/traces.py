"""Step-time traces: first step (trace/compile), warm-up and the detected steady state, per mode.

One run (the lowest repetition that finished) per framework/mode of one representative training cell
per model, so the traces are readable; the HTML report's tooltips name the run.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Step-time traces"
CELL_KEY = ["model", "size", "phase", "device", "threads", "batch_size", "seq_len"]


def representative_runs(runs: pl.DataFrame) -> pl.DataFrame:
    """Per model: the most common setting of the first size (train if present); one run per mode."""
    ok = runs.filter(pl.col("status") == "ok") if "status" in runs.columns else runs
    if ok.height == 0:
        return ok
    picked = []
    for model in [m for m in C.MODELS if m in set(ok["model"].to_list())]:
        sub = ok.filter(pl.col("model") == model)
        phases = set(sub["phase"].to_list())
        sub = sub.filter(pl.col("phase") == ("train" if "train" in phases else sorted(phases)[0]))
        sizes = [s for s in C.SIZES[model] if s in set(sub["size"].to_list())]
        sub = sub.filter(pl.col("size") == sizes[0])
        key = [c for c in CELL_KEY if c in sub.columns]
        top = sub.group_by(key).len().sort(["len", *key], descending=[True, *[False] * len(key)]).head(1)
        sub = sub.join(top.drop("len"), on=key)
        order = ["repetition", "run_id"] if "repetition" in sub.columns else ["run_id"]
        by = [c for c in ("framework", "backend", "mode") if c in sub.columns]
        picked.append(sub.sort(order).group_by(by, maintain_order=True).head(1))
    return pl.concat(picked, how="diagonal_relaxed")


def traces(data: FigureData) -> F.Figure:
    why = (F.require(data.runs, ["run_id", "framework", "mode", "model", "size", "phase"], "runs")
           or F.require(data.steps, ["run_id", "phase", "step_index", "ms"], "steps"))
    if why:
        return F.placeholder(TITLE, why)
    runs = representative_runs(F.standard(data.runs))
    if runs.height == 0:
        return F.placeholder(TITLE, "no run finished with status ok")
    runs = F.cell_label(F.with_fw_mode(runs), ["model", "size", "phase"], "cell")
    keep = ["run_id", "fw_mode", "cell", "framework", "mode"]
    # joins keep the left frame's row order (polars guarantees none by default): the spec's data is byte-stable
    steps = (data.steps.rename({"phase": "step_phase", "step_index": "step"})
             .join(runs.select(keep), on="run_id", maintain_order="left"))
    n_warm = (steps.filter(pl.col("step_phase") == "warmup").group_by("run_id").agg(n_warm=pl.len()))
    steps = (steps.join(n_warm, on="run_id", how="left", maintain_order="left")
             .with_columns(pl.col("n_warm").fill_null(0))
             .with_columns(x=pl.when(pl.col("step_phase") == "warmup").then(pl.col("step") + 1)
                           .otherwise(pl.col("step") + 1 + pl.col("n_warm"))))
    layers_frame = [steps.select(["run_id", "fw_mode", "cell", "step_phase", "x", "ms"])]
    if "first_step_s" in runs.columns:
        first = (runs.filter(pl.col("first_step_s").is_not_null())
                 .select(["run_id", "fw_mode", "cell", pl.lit("first step").alias("step_phase"),
                          pl.lit(0).alias("x"), (pl.col("first_step_s") * 1000).alias("ms")]))
        layers_frame.append(first)
    marks = _steady_marks(data.steady_state, runs, steps)
    if marks is not None:
        layers_frame.append(marks)
    band = (steps.group_by("cell").agg(n_warm=pl.col("n_warm").max()).filter(pl.col("n_warm") > 0).sort("cell")
            .select(["cell", pl.lit("warm-up").alias("step_phase"), pl.lit(0.5).alias("x"),
                     (pl.col("n_warm") + 0.5).alias("x2")]))
    layers_frame.append(band)
    frame = pl.concat(layers_frame, how="diagonal_relaxed").with_columns(pl.col("x").cast(pl.Float64))
    color = F.fw_mode_color(frame)
    pick = alt.selection_point(fields=["fw_mode"], bind="legend")
    tooltip = ["fw_mode:N", "run_id:N", "step_phase:N", alt.Tooltip("x:Q", title="step"),
               alt.Tooltip("ms:Q", format=".2f", title="ms")]
    y = alt.Y("ms:Q", scale=alt.Scale(type="log"), title="step time (ms, log scale)")
    base = alt.Chart()
    is_step = (alt.datum.step_phase == "warmup") | (alt.datum.step_phase == "measured")
    line = base.transform_filter(is_step).mark_line(strokeWidth=1.2).encode(
        x=alt.X("x:Q", title="step (0 = first step, then warm-up, then measured)"), y=y, color=color,
        detail="run_id:N", opacity=alt.condition(pick, alt.value(0.9), alt.value(0.15))).add_params(pick)
    first_pts = base.transform_filter(alt.datum.step_phase == "first step").mark_point(
        shape="diamond", size=70, filled=True).encode(x="x:Q", y=y, color=color, tooltip=tooltip)
    pts = base.transform_filter(is_step).mark_circle(size=12).encode(
        x="x:Q", y=y, color=color, tooltip=tooltip, opacity=alt.condition(pick, alt.value(0.9), alt.value(0.1)))
    shade = base.transform_filter(alt.datum.step_phase == "warm-up").mark_rect(color="#dddddd", opacity=0.4).encode(
        x="x:Q", x2="x2:Q", tooltip=[alt.Tooltip("step_phase:N", title="span")])
    label = base.transform_filter(alt.datum.step_phase == "warm-up").mark_text(
        align="left", baseline="top", dx=3, dy=3, color="#777777", fontSize=10).encode(
        x="x:Q", y=alt.value(0), text=alt.value("warm-up"))
    layers = [shade, label, line, pts, first_pts]
    if marks is not None:
        layers.append(base.transform_filter(alt.datum.step_phase == "steady start").mark_rule(strokeDash=[5, 3]).encode(
            x="x:Q", color=color, tooltip=["fw_mode:N", "run_id:N",
                                           alt.Tooltip("x:Q", title="steady state from step")]))
    chart = (alt.layer(*layers).properties(width=220, height=170)
             .facet(column=alt.Column("cell:N", title=None), data=frame)
             .resolve_scale(y="independent"))
    return F.Figure(chart)


def _steady_marks(steady: pl.DataFrame, runs: pl.DataFrame, steps: pl.DataFrame) -> pl.DataFrame | None:
    """Vertical rules at the first steady-state step of each shown run (None without the table)."""
    if F.require(steady, ["run_id", "steady_start"], "steady_state"):
        return None
    n_warm = steps.group_by("run_id").agg(n_warm=pl.col("n_warm").first())
    marks = (steady.join(runs.select(["run_id", "fw_mode", "cell"]), on="run_id", maintain_order="left")
             .join(n_warm, on="run_id", how="left", maintain_order="left")
             .select(["run_id", "fw_mode", "cell", pl.lit("steady start").alias("step_phase"),
                      (pl.col("steady_start") + 1 + pl.col("n_warm").fill_null(0)).cast(pl.Int64).alias("x")]))
    return marks if marks.height else None
