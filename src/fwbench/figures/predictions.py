"""Does it hold on your machine? A forest plot per claim: each campaign's effect, each class's pool.

Read from `campaign_claims` (each campaign's effect and 95% CI, with its hardware class) and
`claim_predictions` (fwbench.stats.pooling: per class and over all, the random-effects pooled effect with its
CI, and the 95% prediction interval for a new campaign from k = 3). One panel per claim whose effect is a
ratio and that two or more campaigns measured; rows grouped by class: its campaigns (circles), its pool
(diamond, CI as a thick bar, prediction interval as a thin one), then the pool of every campaign.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData
from fwbench.stats.pooling import ALL_CLASSES

TITLE = "Does it hold on your machine?"
#: Claims measured in percentage points are drawn elsewhere (the accuracy figure): ratios only here.
POINTS_METRICS: tuple[str, ...] = ("accuracy",)
CAMPAIGN, POOLED = "campaign", "pooled"
COLUMNS = 2  # panels per row: one panel per claim


def _campaign_label() -> pl.Expr:
    """'<host> MM-DD <suffix>' from the campaign id (YYYYMMDDTHHMMSSZ-xxxx): which machine, which day."""
    cid = pl.col("campaign_id")
    return pl.concat_str([pl.col("system_id"), pl.lit(" "), cid.str.slice(4, 2), pl.lit("-"), cid.str.slice(6, 2),
                          pl.lit(" "), cid.str.split("-").list.last()])


def _campaign_rows(campaigns: pl.DataFrame) -> pl.DataFrame:
    return campaigns.select(
        "claim_id", "hardware_class", _campaign_label().alias("label"), pl.lit(CAMPAIGN).alias("kind"),
        "effect", pl.col("effect_low").alias("low"), pl.col("effect_high").alias("high"),
        pl.lit(None, dtype=pl.Float64).alias("pi_low"), pl.lit(None, dtype=pl.Float64).alias("pi_high"), "verdict")


def _pooled_rows(predictions: pl.DataFrame) -> pl.DataFrame:
    return predictions.select(
        "claim_id", "hardware_class",
        pl.concat_str([pl.lit("pooled, k = "), pl.col("k").cast(pl.String)]).alias("label"),
        pl.lit(POOLED).alias("kind"),
        "effect", pl.col("effect_low").alias("low"), pl.col("effect_high").alias("high"), "pi_low", "pi_high",
        "verdict")


def forest_rows(campaign_claims: pl.DataFrame, claim_predictions: pl.DataFrame) -> pl.DataFrame:
    """The plotted rows: per ratio claim with 2+ campaigns, each campaign and each pool, in plotting order."""
    pooled_all = claim_predictions.filter((pl.col("hardware_class") == ALL_CLASSES) & (pl.col("k") >= 2))
    ratio_claims = (campaign_claims.filter(~pl.col("metric").is_in(POINTS_METRICS)).get_column("claim_id").unique())
    shown = pooled_all.filter(pl.col("claim_id").is_in(ratio_claims.implode())).get_column("claim_id")
    campaigns = campaign_claims.filter(pl.col("claim_id").is_in(shown.implode()) & pl.col("effect_low").is_not_nan()
                                       & (pl.col("effect_low") > 0) & (pl.col("effect_high") > pl.col("effect_low")))
    frame = pl.concat([_campaign_rows(campaigns),
                       _pooled_rows(claim_predictions.filter(pl.col("claim_id").is_in(shown.implode())))])
    frame = frame.with_columns(
        group=pl.when(pl.col("hardware_class") == ALL_CLASSES).then(pl.lit("~")).otherwise(pl.col("hardware_class")),
        row=pl.concat_str([pl.col("hardware_class"), pl.col("label")], separator="  "))
    return (frame.sort("claim_id", "group", "kind", "label").drop("group")
            .with_columns(order=pl.int_range(pl.len()).over("claim_id")))


def claim_forest(data: FigureData) -> F.Figure:
    need_campaigns = ["claim_id", "campaign_id", "system_id", "hardware_class", "metric", "effect", "effect_low",
                      "effect_high", "verdict"]
    need_pooled = ["claim_id", "hardware_class", "k", "effect", "effect_low", "effect_high", "pi_low", "pi_high",
                   "verdict"]
    why = (F.require(data.campaign_claims, need_campaigns, "campaign_claims")
           or F.require(data.claim_predictions, need_pooled, "claim_predictions"))
    if why:
        return F.placeholder(TITLE, why)
    frame = forest_rows(data.campaign_claims, data.claim_predictions)
    if frame.height == 0:
        return F.placeholder(TITLE, "no ratio claim has an effect in two or more campaigns")
    tooltip = ["claim_id:N", "hardware_class:N", "label:N", "verdict:N", alt.Tooltip("effect:Q", format=".3f"),
               alt.Tooltip("low:Q", format=".3f", title="95% CI low"),
               alt.Tooltip("high:Q", format=".3f", title="95% CI high"),
               alt.Tooltip("pi_low:Q", format=".3f", title="95% PI low"),
               alt.Tooltip("pi_high:Q", format=".3f", title="95% PI high")]
    # an explicit order: the layers hold different rows (the PI layer only pools of k >= 3), so the first
    # appearance of a row would put those first
    y = alt.Y("row:N", title=None, sort=alt.EncodingSortField("order", op="min"), axis=alt.Axis(labelLimit=300))
    color = alt.Color("verdict:N", title=None, legend=alt.Legend(orient="bottom", columns=3))
    shape = alt.Shape("kind:N", title=None, scale=alt.Scale(domain=[CAMPAIGN, POOLED], range=["circle", "diamond"]))
    scale = alt.Scale(type="log", zero=False, nice=False)
    x_title = "claim effect A/B as the claim states it (log scale)"
    base = alt.Chart().encode(y=y, color=color, tooltip=tooltip)
    one = alt.Chart().mark_rule(color="#888888", strokeDash=[4, 3]).encode(x=alt.datum(1.0))
    axis = alt.Axis(labelOverlap="greedy", format="~g")
    pi = base.transform_filter("isValid(datum.pi_low)").mark_rule(strokeWidth=1, opacity=0.6).encode(
        x=alt.X("pi_low:Q", scale=scale, title=x_title, axis=axis), x2="pi_high:Q")
    ci = base.mark_rule(strokeWidth=2.5).encode(x=alt.X("low:Q", scale=scale, title=x_title, axis=axis), x2="high:Q")
    point = base.mark_point(filled=True, size=55).encode(x=alt.X("effect:Q", scale=scale, axis=axis), shape=shape)
    chart = alt.layer(one, pi, ci, point, data=frame).properties(width=220, height=alt.Step(10)).facet(
        facet=alt.Facet("claim_id:N", title=None, header=alt.Header(labelFontWeight="bold")), columns=COLUMNS)
    return F.Figure(chart.resolve_scale(y="independent", x="independent"))
