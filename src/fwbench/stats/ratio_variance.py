"""The variance that a verdict rests on: of the log step-time ratio, between campaigns and within them.

The `variance` table splits log step time, mostly machine speed, which slows both sides of a comparison
and cancels in their ratio. Here each comparison's per-campaign log ratio (the campaign comparisons, each
with the standard error of its bootstrap 95% CI) is pooled by the random-effects model of
fwbench.stats.pooling, within each hardware class and over all campaigns: τ² is the between-campaign
variance of the log ratio, the mean squared standard error the within-campaign one, and their shares say
which level a design must repeat (Kalibera & Jones: repeat where the variance is).

From them, the campaigns a class needs for a ±5% prediction interval: the smallest k whose interval
t(k−2) · √(τ² + (τ² + w)/k) reaches ln(1.05), with w the within-campaign variance at the measured
repetitions; none when τ alone keeps it wider (its limit, 1.96·τ, is given as `pi_half_width_limit`).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

from fwbench.stats.pooling import ALL_CLASSES, CampaignEffect, pool, standard_errors, with_classes
from fwbench.stats.protocol_sizing import TARGET_HALF_WIDTH
from fwbench.stats.reproducibility import Z

#: The most campaigns a class is sized for; beyond, the table says none.
MAX_CAMPAIGNS = 100
KEY = ("metric", "cell_id_a", "cell_id_b")
LABEL_FIELDS = ("model", "size", "phase", "batch_size", "seq_len", "threads", "framework_a", "mode_a",
                "framework_b", "mode_b")
SCHEMA: dict[str, type[pl.DataType]] = {
    "metric": pl.String, "cell_id_a": pl.String, "cell_id_b": pl.String, "model": pl.String, "size": pl.String,
    "phase": pl.String, "batch_size": pl.Int64, "seq_len": pl.Int64, "threads": pl.Int64, "framework_a": pl.String,
    "mode_a": pl.String, "framework_b": pl.String, "mode_b": pl.String, "hardware_class": pl.String, "k": pl.Int64,
    "ratio": pl.Float64, "tau2": pl.Float64, "within_var": pl.Float64, "between_share": pl.Float64,
    "campaigns_for_5pct": pl.Int64, "pi_half_width_limit": pl.Float64,
}


def campaigns_needed(tau2: float, within_var: float, target: float = TARGET_HALF_WIDTH) -> int | None:
    """Smallest k >= 3 whose 95% prediction interval for a new campaign is within ±target; None if none
    up to MAX_CAMPAIGNS."""
    bound = math.log1p(target)
    for k in range(3, MAX_CAMPAIGNS + 1):
        if stats.t.ppf(0.975, k - 2) * math.sqrt(tau2 + (tau2 + within_var) / k) <= bound:
            return k
    return None


def _effects(rows: list[dict]) -> list[CampaignEffect]:
    return [CampaignEffect(r["campaign_id"], r["hardware_class"], r["ratio"], r["ratio_low"], r["ratio_high"])
            for r in rows]


def _row(first: dict, hardware_class: str, effects: list[CampaignEffect]) -> dict:
    pooled = pool(effects)
    within, tau2 = float(np.mean(standard_errors(effects) ** 2)), pooled.tau2 or 0.0
    total = tau2 + within
    return {**{f: first[f] for f in (*KEY, *LABEL_FIELDS)}, "hardware_class": hardware_class, "k": pooled.k,
            "ratio": pooled.effect, "tau2": tau2, "within_var": within,
            "between_share": tau2 / total if total > 0 else None,
            "campaigns_for_5pct": campaigns_needed(tau2, within),
            "pi_half_width_limit": math.expm1(Z * math.sqrt(tau2))}


def ratio_variance(campaign_comparisons: pl.DataFrame, per_run: pl.DataFrame) -> pl.DataFrame:
    """Per step-time comparison measured with a CI in 2+ campaigns: per hardware class (2+ campaigns) and
    over all, τ² and the within-campaign variance of the log ratio, and the campaigns for a ±5% interval."""
    need = {"campaign_id", *KEY, *LABEL_FIELDS, "ratio", "ratio_low", "ratio_high"}
    if campaign_comparisons.is_empty() or not need <= set(campaign_comparisons.columns):
        return pl.DataFrame(schema=SCHEMA)
    usable = with_classes(campaign_comparisons.filter(
        (pl.col("metric") == "step_time") & pl.col("ratio_low").is_not_nan() & (pl.col("ratio_low") > 0)
        & (pl.col("ratio_high") > pl.col("ratio_low"))), per_run)
    rows = []
    for _, group in usable.sort(*KEY, "campaign_id").group_by(list(KEY), maintain_order=True):
        members = group.to_dicts()
        if len(members) < 2:
            continue
        by_class: dict[str, list[dict]] = {}
        for r in members:
            by_class.setdefault(r["hardware_class"], []).append(r)
        rows += [_row(members[0], cls, _effects(of)) for cls, of in sorted(by_class.items()) if len(of) >= 2]
        rows.append(_row(members[0], ALL_CLASSES, _effects(members)))
    return pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)
