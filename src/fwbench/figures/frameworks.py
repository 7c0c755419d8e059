"""Beyond torch vs TensorFlow: the Keras 3 layer's cost per backend and JAX's step-time ratios, per model.

Read from the `framework_contrasts` table (fwbench.stats.framework_contrasts): step time subject / reference
with its 95% CI on a log scale, one row per pair and model, faceted by contrast.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "The Keras layer and JAX"
FACET_TITLES: dict[str, str] = {"keras_layer": "Keras 3 on a backend / that backend's framework",
                                "jax": "JAX / torch and TensorFlow"}


def framework_contrasts(data: FigureData) -> F.Figure:
    need = ["contrast", "model", "size", "phase", "subject", "reference", "ratio", "ratio_low", "ratio_high"]
    why = F.require(data.framework_contrasts, need, "framework_contrasts")
    if why:
        return F.placeholder(TITLE, why)
    frame = (F.main_scope(data.framework_contrasts)
             .filter(pl.col("ratio_low").is_not_nan() & (pl.col("ratio_low") > 0))
             .with_columns(pair=pl.concat_str([pl.col("subject"), pl.lit(" / "), pl.col("reference")]),
                           facet=pl.col("contrast").replace_strict(FACET_TITLES, default=pl.col("contrast"))))
    if frame.height == 0:
        return F.placeholder(TITLE, "no JAX or Keras cell with 4+ runs beside a torch/TensorFlow cell of the same "
                                    "workload (workflow/grids/frameworks.yaml measures them)")
    frame = F.cell_label(frame, ["model", "size", "phase"], "workload")
    lo = min(frame["ratio_low"].min(), 1.0)
    hi = max(frame["ratio_high"].max(), 1.0)
    scale = alt.Scale(type="log", domain=[lo / 1.05, hi * 1.05], nice=False)
    tooltip = ["pair:N", "workload:N", alt.Tooltip("ratio:Q", format=".3f"),
               alt.Tooltip("ratio_low:Q", format=".3f", title="95% CI low"),
               alt.Tooltip("ratio_high:Q", format=".3f", title="95% CI high"),
               alt.Tooltip("median_subject_ms:Q", format=".1f", title="subject median step (ms)"),
               alt.Tooltip("median_reference_ms:Q", format=".1f", title="reference median step (ms)")]
    base = alt.Chart().encode(y=alt.Y("pair:N", title=None, sort=sorted(set(frame["pair"].to_list()))),
                              color=alt.Color("workload:N", title=None, legend=alt.Legend(orient="bottom")),
                              yOffset=alt.YOffset("workload:N"),
                              tooltip=[t for t in tooltip if F.field_name(t) in frame.columns])
    one = alt.Chart().mark_rule(color="#888888", strokeDash=[4, 3]).encode(x=alt.datum(1.0))
    ci = base.mark_rule(strokeWidth=1.5).encode(
        x=alt.X("ratio_low:Q", scale=scale, title="step time subject / reference (log scale; > 1: subject slower)"),
        x2="ratio_high:Q")
    point = base.mark_point(filled=True, size=40).encode(x=alt.X("ratio:Q", scale=scale))
    chart = alt.layer(one, ci, point, data=frame).properties(width=300, height=alt.Step(30)).facet(
        row=alt.Row("facet:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
    return F.Figure(chart.resolve_scale(y="independent"))
