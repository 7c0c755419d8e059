"""Framework or layer? Each CNN/LSTM step-time claim's effect per model family and implementation variant.

Read from the `layer_ablation` table (fwbench.stats.layer_ablation): the claim's effect (its own A/B
orientation, a geometric mean over the family's cells) with its 95% CI on a log scale, one row per
claim, family and variant, coloured by verdict.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Framework or layer?"
#: Claims drawn: those whose effect is a speed ratio (memory claims have their own scale).
SPEED_METRICS: tuple[str, ...] = ("step_time", "throughput")


def ablation(data: FigureData) -> F.Figure:
    need = ["claim_id", "model", "variant", "metric", "effect", "effect_low", "effect_high", "verdict"]
    why = F.require(data.layer_ablation, need, "layer_ablation")
    if why:
        return F.placeholder(TITLE, why)
    frame = (F.main_scope(data.layer_ablation)
             .filter(pl.col("metric").is_in(SPEED_METRICS) & pl.col("effect_low").is_not_nan()
                     & (pl.col("effect_low") > 0))
             .with_columns(row=pl.concat_str([pl.col("claim_id"), pl.col("model")], separator="  "),
                           standard=pl.col("variant") == "standard"))
    if frame.height == 0:
        return F.placeholder(TITLE, "no CNN/LSTM speed claim has a testable effect in the ablation grid's runs "
                                    "(workflow/grids/ablation.yaml)")
    lo = min(frame["effect_low"].min(), 1.0)
    hi = max(frame["effect_high"].max(), 1.0)
    scale = alt.Scale(type="log", domain=[lo / 1.05, hi * 1.05], nice=False)
    tooltip = ["claim_id:N", "model:N", "variant:N", "verdict:N",
               alt.Tooltip("effect:Q", format=".3f"), alt.Tooltip("effect_low:Q", format=".3f", title="95% CI low"),
               alt.Tooltip("effect_high:Q", format=".3f", title="95% CI high"), alt.Tooltip("n_cells:Q", title="cells")]
    y = alt.Y("variant:N", title=None, sort=list(dict.fromkeys(frame["variant"].to_list())))
    color = alt.Color("verdict:N", title=None, legend=alt.Legend(orient="bottom", columns=3))
    base = alt.Chart().encode(y=y, color=color, tooltip=[t for t in tooltip if F.field_name(t) in frame.columns])
    one = alt.Chart().mark_rule(color="#888888", strokeDash=[4, 3]).encode(x=alt.datum(1.0))
    ci = base.mark_rule(strokeWidth=1.5).encode(
        x=alt.X("effect_low:Q", scale=scale, title="claim effect A/B as the claim states it (log scale)"),
        x2="effect_high:Q")
    point = base.mark_point(filled=True, size=50).encode(
        x=alt.X("effect:Q", scale=scale), shape=alt.Shape("standard:N", title="standard model"))
    chart = alt.layer(one, ci, point, data=frame).properties(width=300, height=alt.Step(11)).facet(
        row=alt.Row("row:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
    return F.Figure(chart.resolve_scale(y="independent"))
