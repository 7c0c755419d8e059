"""Verdicts that predict a new machine: random-effects pooling of per-campaign claim effects (issue 27).

Each campaign's claim effect (fwbench.stats.reproducibility: judged on the cells it shares with another
campaign) is a log ratio with the standard error read back from its 95% CI. Within each hardware class
and across all campaigns the effects are pooled with a random-effects model (statsmodels
`combine_effects`, Paule-Mandel τ², t-based CI), and the 95% prediction interval for a *new* campaign is
μ ± t(k−2) · √(τ² + SE(μ)²) (Higgins, Thompson & Spiegelhalter 2009). Whether the class explains the
heterogeneity is the fixed-effect subgroup test: Q_between = Q_total − Σ Q_within, χ² with classes − 1 df.

Small-k policy: k = 1, the campaign's own CI is all there is; k = 2, no prediction interval exists (the
pooled CI is used and the row says so); from k = 3 the prediction interval is given and used, flagged
imprecise below k = 5. A class's verdict is the claim's region rule applied to that interval.

The predictive verdict of a claim, over its classes:
- `not reproducible`: within one class, two campaigns' CIs lie on opposite sides of no effect (the same
  kind of machine disagrees with itself: the noise the design must beat);
- `depends on the hardware`: two classes' pooled CIs (where each class's mean effect lies) are on opposite
  sides of no effect;
- `holds on every class measured`: every class's interval lies inside the claim's region (2+ classes);
- otherwise the verdict of the all-campaign pool.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from fwbench.harness.hardware_class import UNKNOWN
from fwbench.stats.claims import Claim
from fwbench.stats.reproducibility import NOT_REPRODUCIBLE, Z

ALL_CLASSES = "all"
DEPENDS = "depends on the hardware"
HOLDS_EVERYWHERE = "holds on every class measured"
#: Below this many campaigns a prediction interval is flagged imprecise.
PRECISE_K = 5
BASIS = {1: "campaign CI (k = 1)", 2: "pooled CI: too few campaigns for a prediction interval (k = 2)"}


@dataclass(frozen=True)
class CampaignEffect:
    campaign_id: str
    hardware_class: str
    effect: float
    low: float
    high: float


@dataclass(frozen=True)
class Pooled:
    """One random-effects pool: estimate, CI and (k >= 3) the prediction interval, on the effect's scale."""

    k: int
    effect: float
    low: float
    high: float
    tau2: float | None
    q: float
    pi_low: float | None
    pi_high: float | None

    @property
    def interval(self) -> tuple[float, float]:
        """The interval a verdict rests on: the prediction interval where it exists, else the CI."""
        return (self.pi_low, self.pi_high) if self.pi_low is not None and self.pi_high is not None \
            else (self.low, self.high)

    @property
    def basis(self) -> str:
        if self.k >= 3:
            return "prediction interval" + (f" (imprecise: k < {PRECISE_K})" if self.k < PRECISE_K else "")
        return BASIS[self.k]


def _to_scale(ratio: bool) -> tuple:
    return (np.log, np.exp) if ratio else (lambda x: np.asarray(x, dtype=float), lambda x: x)


def standard_errors(effects: list[CampaignEffect], ratio: bool = True) -> np.ndarray:
    """Each campaign's standard error read back from its 95% CI, on the scale the pool works on."""
    forward, _ = _to_scale(ratio)
    return (forward(np.array([e.high for e in effects])) - forward(np.array([e.low for e in effects]))) / (2 * Z)


def pool(effects: list[CampaignEffect], ratio: bool = True) -> Pooled:
    """Random-effects pool of campaign effects (ratios on the log scale; differences as they are)."""
    from statsmodels.stats.meta_analysis import combine_effects

    forward, back = _to_scale(ratio)
    y = forward(np.array([e.effect for e in effects]))
    se = standard_errors(effects, ratio)
    if len(effects) == 1:
        e = effects[0]
        return Pooled(1, e.effect, e.low, e.high, None, 0.0, None, None)
    with np.errstate(divide="ignore", invalid="ignore"):  # I² of a pool without heterogeneity (Q = 0)
        result = combine_effects(y, se**2, method_re="pm", use_t=True)
    mu, (lo, hi), tau2 = float(result.mean_effect_re), result.conf_int(alpha=0.05, use_t=True)[1], float(result.tau2)
    pi = (None, None)
    if len(effects) >= 3:
        half = float(stats.t.ppf(0.975, len(effects) - 2)) * math.sqrt(tau2 + float(result.sd_eff_w_re) ** 2)
        pi = (float(back(mu - half)), float(back(mu + half)))
    return Pooled(len(effects), float(back(mu)), float(back(lo)), float(back(hi)), tau2, float(result.q), *pi)


def _side(low: float, high: float, neutral: float) -> int:
    """+1 / -1: the interval lies entirely above / below no effect; 0: it reaches it."""
    return 1 if low > neutral else -1 if high < neutral else 0


def _opposed(intervals: Iterable[tuple[str, float, float]], neutral: float) -> tuple[str, str] | None:
    sides: dict[int, str] = {}
    for name, low, high in intervals:
        side = _side(low, high, neutral)
        if side:
            sides.setdefault(side, name)
    return (sides[1], sides[-1]) if len(sides) == 2 else None


def _usable(rows: list[dict], ratio: bool) -> list[CampaignEffect]:
    ok = []
    for r in rows:
        values = (r["effect"], r["effect_low"], r["effect_high"])
        if all(v is not None and math.isfinite(v) for v in values) and (not ratio or min(values) > 0) \
                and r["effect_high"] > r["effect_low"]:
            ok.append(CampaignEffect(r["campaign_id"], r["hardware_class"], *values))
    return ok


def _fmt(pooled: Pooled) -> str:
    low, high = pooled.interval
    return f"{pooled.effect:.3g} [{low:.3g}, {high:.3g}], k = {pooled.k}"


def predict_claim(claim: Claim, rows: list[dict]) -> list[dict]:
    """The class rows and the all-classes row of one claim, from its per-campaign rows."""
    ratio, neutral = claim.threshold.unit != "pp", claim.threshold.neutral
    effects = _usable(rows, ratio)
    if not effects:
        return []
    by_class: dict[str, list[CampaignEffect]] = {}
    for e in effects:
        by_class.setdefault(e.hardware_class, []).append(e)
    pooled = {cls: pool(members, ratio) for cls, members in sorted(by_class.items())}
    overall = pool(effects, ratio)
    out = [_row(claim, cls, by_class[cls], p) for cls, p in pooled.items()]
    within = {cls: _opposed(((e.campaign_id, e.low, e.high) for e in by_class[cls]), neutral) for cls in pooled}
    between = _opposed(((cls, p.low, p.high) for cls, p in pooled.items()), neutral)
    summary = "; ".join(f"{row['verdict']} on {cls} ({_fmt(pooled[cls])})" for cls, row in
                        zip(pooled, out))
    noisy = {cls: pair for cls, pair in within.items() if pair}
    if noisy:
        verdict = NOT_REPRODUCIBLE
        summary += "; within " + ", ".join(f"{cls} campaigns {a} and {b} disagree" for cls, (a, b) in noisy.items())
    elif between:
        verdict = DEPENDS
    elif len(pooled) >= 2 and all(row["verdict"] == "supported" for row in out):
        verdict = HOLDS_EVERYWHERE
    else:
        verdict = None
    q_between, df_between = overall.q - sum(p.q for p in pooled.values()), len(pooled) - 1
    all_row = _row(claim, ALL_CLASSES, effects, overall)
    all_row.update(predictive_verdict=verdict or all_row["verdict"], summary=summary,
                   q_between=q_between if df_between else None, df_between=df_between,
                   p_between=float(stats.chi2.sf(max(q_between, 0.0), df_between)) if df_between else None)
    return [*out, all_row]


def _row(claim: Claim, hardware_class: str, members: list[CampaignEffect], pooled: Pooled) -> dict:
    verdict, how = claim.threshold.verdict(*pooled.interval)
    return {"claim_id": claim.id, "hardware_class": hardware_class, "k": pooled.k,
            "campaigns": ";".join(sorted(e.campaign_id for e in members)), "tau2": pooled.tau2,
            "effect": pooled.effect, "effect_low": pooled.low, "effect_high": pooled.high,
            "pi_low": pooled.pi_low, "pi_high": pooled.pi_high, "basis": pooled.basis, "verdict": verdict,
            "reason": f"{pooled.basis} {how}"}


SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "claim_id": pl.String, "hardware_class": pl.String, "k": pl.Int64, "campaigns": pl.String, "tau2": pl.Float64,
    "effect": pl.Float64, "effect_low": pl.Float64, "effect_high": pl.Float64, "pi_low": pl.Float64,
    "pi_high": pl.Float64, "basis": pl.String, "verdict": pl.String, "reason": pl.String,
    "predictive_verdict": pl.String, "summary": pl.String, "q_between": pl.Float64, "df_between": pl.Int64,
    "p_between": pl.Float64,
}


def with_classes(campaign_claims: pl.DataFrame, per_run: pl.DataFrame) -> pl.DataFrame:
    """campaign_claims with each campaign's hardware class (that of its runs; `unknown` where they carry none)."""
    classes = ({} if "hardware_class" not in per_run.columns else
               dict(per_run.group_by("campaign_id").agg(pl.col("hardware_class").drop_nulls().first()).iter_rows()))
    return campaign_claims.with_columns(
        pl.col("campaign_id").replace_strict(classes, default=UNKNOWN, return_dtype=pl.String).alias("hardware_class"))


def claim_predictions(claims: list[Claim], campaign_claims: pl.DataFrame, per_run: pl.DataFrame) -> pl.DataFrame:
    """Per claim: one row per hardware class and one for all classes (hardware_class = 'all'), pooled from the
    campaign_claims rows; empty without per-campaign verdicts."""
    needed = {"claim_id", "campaign_id", "effect", "effect_low", "effect_high"}
    if campaign_claims.is_empty() or not needed <= set(campaign_claims.columns):
        return pl.DataFrame(schema=SCHEMA)
    rows = with_classes(campaign_claims, per_run)
    by_claim = {cid: group.to_dicts() for (cid,), group in rows.group_by(["claim_id"])}
    out = [row for claim in claims for row in predict_claim(claim, by_claim.get(claim.id, []))]
    return pl.DataFrame(out, schema=SCHEMA) if out else pl.DataFrame(schema=SCHEMA)


def loo_coverage(claims: list[Claim], campaign_claims: pl.DataFrame, per_run: pl.DataFrame) -> pl.DataFrame:
    """Leave one campaign out: for each claim and class with k >= 4 campaigns (so the others still give a
    prediction interval), whether the interval from the others contains the left-out campaign's effect."""
    schema = {"claim_id": pl.String, "hardware_class": pl.String, "left_out": pl.String, "k_others": pl.Int64,
              "effect": pl.Float64, "pi_low": pl.Float64, "pi_high": pl.Float64, "covered": pl.Boolean}
    if campaign_claims.is_empty():
        return pl.DataFrame(schema=schema)
    rows = with_classes(campaign_claims, per_run)
    out = []
    for claim in claims:
        ratio = claim.threshold.unit != "pp"
        effects = _usable(rows.filter(pl.col("claim_id") == claim.id).to_dicts(), ratio)
        for cls in sorted({e.hardware_class for e in effects}):
            members = [e for e in effects if e.hardware_class == cls]
            if len(members) < 4:
                continue
            for left in members:
                others = pool([e for e in members if e is not left], ratio)
                out.append({"claim_id": claim.id, "hardware_class": cls, "left_out": left.campaign_id,
                            "k_others": others.k, "effect": left.effect, "pi_low": others.pi_low,
                            "pi_high": others.pi_high, "covered": others.pi_low <= left.effect <= others.pi_high})
    return pl.DataFrame(out, schema=schema) if out else pl.DataFrame(schema=schema)
