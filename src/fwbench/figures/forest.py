"""Forest plot of torch/tensorflow speed ratios per cell with 95% CIs on a log scale, from comparisons."""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData

TITLE = "Speed ratio PyTorch / TensorFlow"
CELL_FIELDS = ["model", "size", "phase", "device", "threads", "batch_size", "seq_len"]


def forest(data: FigureData) -> F.Figure:
    need = ["metric", "kind", "ratio", "ratio_low", "ratio_high", "model", "size", "phase", "mode_a", "mode_b"]
    why = F.require(data.comparisons, need, "comparisons")
    if why:
        return F.placeholder(TITLE, why)
    frame = speed_ratios(data.comparisons)
    if frame.height == 0:
        return F.placeholder(TITLE, "no torch/tensorflow step-time comparison with a CI (needs 2+ runs per side)")
    shown = ["model", "size", "phase", *F.varying(frame, CELL_FIELDS[3:], within=["model", "size", "phase"])]
    frame = F.cell_label(frame, shown, "cell")
    frame = frame.with_columns(
        pair=pl.concat_str([pl.lit("torch "), pl.col("mode_a"), pl.lit(" / tf "), pl.col("mode_b")]))
    frame = frame.with_columns(row=pl.concat_str([pl.col("cell"), pl.col("pair")], separator="  |  "))
    tooltip = ["cell:N", "pair:N", alt.Tooltip("speed:Q", format=".3f", title="speed ratio torch/tf"),
               alt.Tooltip("speed_low:Q", format=".3f", title="95% CI low"),
               alt.Tooltip("speed_high:Q", format=".3f", title="95% CI high"),
               alt.Tooltip("median_a:Q", format=".2f", title="torch median step (ms)"),
               alt.Tooltip("median_b:Q", format=".2f", title="tf median step (ms)"),
               alt.Tooltip("n_a:Q", title="torch runs"), alt.Tooltip("n_b:Q", title="tf runs"),
               alt.Tooltip("p_adjusted:Q", format=".3g", title="p (BH-adjusted)"), "verdict:N"]
    tooltip = [t for t in tooltip if F.field_name(t) in frame.columns]
    lo = min(frame["speed_low"].min(), 1.0)
    hi = max(frame["speed_high"].max(), 1.0)
    scale = alt.Scale(type="log", domain=[lo / 1.05, hi * 1.05], nice=False)
    y = alt.Y("row:N", title=None, sort=alt.SortField("row"), axis=alt.Axis(labelLimit=360))
    color = alt.Color("verdict:N", title=None, legend=alt.Legend(orient="bottom"),
                      scale=alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values())))
    pick = alt.selection_point(fields=["verdict"], bind="legend")
    opacity = alt.condition(pick, alt.value(1.0), alt.value(0.15))
    base = alt.Chart().encode(y=y, tooltip=tooltip, color=color, opacity=opacity)
    one = alt.Chart().mark_rule(color="#888888", strokeDash=[4, 3]).encode(x=alt.datum(1.0))
    ci = base.mark_rule(strokeWidth=1.5).encode(
        x=alt.X("speed_low:Q", scale=scale, title="speed ratio PyTorch / TensorFlow (log scale; > 1: PyTorch faster)"),
        x2="speed_high:Q")
    point = base.mark_point(filled=True, size=45).encode(x=alt.X("speed:Q", scale=scale)).add_params(pick)
    height = max(120, 14 * frame["row"].n_unique())
    chart = alt.layer(one, ci, point, data=frame).properties(width=360, height=height)
    return F.Figure(chart)


VERDICT_COLORS: dict[str, str] = {"PyTorch faster": "#b2182b", "TensorFlow faster": "#2166ac",
                                  "equivalent (TOST)": "#1b7837", "inconclusive": "#999999"}


def speed_ratios(comparisons: pl.DataFrame) -> pl.DataFrame:
    """Torch/tensorflow step-time comparisons with a CI (main scope) as speed ratios and a verdict.

    The comparisons table holds step time A/B with A = torch; the speed (throughput) ratio torch/tf is
    its inverse, so its CI is the inverted, swapped step-time CI.
    """
    need = ["metric", "kind", "ratio", "ratio_low", "ratio_high", "significant", "ci_excludes_1"]
    if F.require(comparisons, need, "comparisons"):
        return pl.DataFrame()
    frame = F.main_scope(F.standard(comparisons)).filter(
        (pl.col("metric") == "step_time") & (pl.col("framework_a") == "torch") & (pl.col("framework_b") == "tensorflow")
        & pl.col("ratio_low").is_not_nan() & (pl.col("ratio_low") > 0) & (pl.col("ratio_high") > 0))
    frame = frame.with_columns(speed=1.0 / pl.col("ratio"), speed_low=1.0 / pl.col("ratio_high"),
                               speed_high=1.0 / pl.col("ratio_low"))
    return frame.with_columns(verdict=_verdict(frame))


def _verdict(frame: pl.DataFrame) -> pl.Expr:
    """Colour key from the stats booleans: significant after BH and CI excluding 1, or TOST equivalence."""
    sig = pl.col("significant").fill_null(False) & pl.col("ci_excludes_1").fill_null(False)
    equivalent = pl.col("equivalent").fill_null(False) if "equivalent" in frame.columns else pl.lit(False)
    return (pl.when(sig & (pl.col("speed_low") > 1)).then(pl.lit("PyTorch faster"))
            .when(sig & (pl.col("speed_high") < 1)).then(pl.lit("TensorFlow faster"))
            .when(equivalent).then(pl.lit("equivalent (TOST)"))
            .otherwise(pl.lit("inconclusive")))

