"""Predictive verdicts (fwbench.stats.pooling) on planted campaign effects: classes on opposite sides, within-class
heterogeneity, a null, and the small-k policy. Each test fails when its feature is removed (pooling every
class together, a normal-quantile interval without τ², no within-class check)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from fwbench.stats.claims import load_claims
from fwbench.stats.pooling import (ALL_CLASSES, DEPENDS, HOLDS_EVERYWHERE, NOT_REPRODUCIBLE, CampaignEffect,
                                   claim_predictions, loo_coverage, pool, predict_claim)

CLAIMS = {c.id: c for c in load_claims()}
C01 = CLAIMS["C01"]  # TensorFlow trains CNNs faster: a ratio claim with a one-sided region
SE = 0.03  # within-campaign standard error of a log ratio


def _row(campaign: str, cls: str, log_effect: float, se: float = SE) -> dict:
    return {"campaign_id": campaign, "hardware_class": cls, "effect": math.exp(log_effect),
            "effect_low": math.exp(log_effect - 1.96 * se), "effect_high": math.exp(log_effect + 1.96 * se)}


def _overall(rows: list[dict]) -> dict:
    return next(r for r in predict_claim(C01, rows) if r["hardware_class"] == ALL_CLASSES)


def test_two_classes_on_opposite_sides_depend_on_the_hardware() -> None:
    rows = [_row(f"a{i}", "avx512_vnni", 0.25 + 0.01 * i) for i in range(3)]
    rows += [_row(f"b{i}", "avx2", -0.25 - 0.01 * i) for i in range(3)]
    overall = _overall(rows)
    assert overall["predictive_verdict"] == DEPENDS
    assert "on avx512_vnni" in overall["summary"] and "on avx2" in overall["summary"]
    # pooled together the classes cancel: the all-campaign pool alone could only say inconclusive
    assert overall["verdict"] == "inconclusive"
    assert overall["p_between"] < 0.001 and overall["df_between"] == 1


def test_disagreement_within_one_class_is_not_reproducible() -> None:
    rows = [_row("a0", "avx2", 0.2), _row("a1", "avx2", -0.2), _row("b0", "avx512_vnni", 0.2)]
    overall = _overall(rows)
    assert overall["predictive_verdict"] == NOT_REPRODUCIBLE
    assert "within avx2 campaigns" in overall["summary"]


def test_agreeing_classes_hold_on_every_class() -> None:
    rows = [_row(f"{c}{i}", c, 0.3 + 0.005 * i) for c in ("avx2", "avx512_vnni") for i in range(3)]
    assert _overall(rows)["predictive_verdict"] == HOLDS_EVERYWHERE


@pytest.mark.parametrize(("k", "has_pi", "basis"), [(1, False, "campaign CI (k = 1)"),
                                                     (2, False, "too few campaigns for a prediction interval"),
                                                     (3, True, "imprecise: k < 5"), (5, True, "prediction interval")])
def test_small_k_policy(k: int, has_pi: bool, basis: str) -> None:
    pooled = pool([CampaignEffect(f"c{i}", "avx2", *np.exp([0.1 * i, 0.1 * i - 0.05, 0.1 * i + 0.05]))
                   for i in range(k)])
    assert (pooled.pi_low is not None) is has_pi and basis in pooled.basis
    if k >= 5:
        assert "imprecise" not in pooled.basis
    if has_pi:
        assert pooled.pi_low < pooled.low < pooled.effect < pooled.high < pooled.pi_high


def _draw(rng: np.random.Generator, k: int, mu: float, tau: float) -> list[CampaignEffect]:
    effects = []
    for i in range(k):
        y = rng.normal(rng.normal(mu, tau), SE)
        effects.append(CampaignEffect(f"c{i}", "avx2", math.exp(y), math.exp(y - 1.96 * SE), math.exp(y + 1.96 * SE)))
    return effects


@pytest.mark.parametrize("k", [5, 10])
def test_prediction_interval_covers_new_campaigns_under_heterogeneity(k: int) -> None:
    """τ = 0.1 on the log scale (3x the within-campaign SE): the interval for a new campaign covers it in >= 90%
    of 300 draws; the pooled CI alone (what a fixed-effect reading would quote) covers far fewer."""
    rng = np.random.default_rng(k)
    tau, draws, covered, ci_covered = 0.1, 300, 0, 0
    for _ in range(draws):
        pooled = pool(_draw(rng, k, 0.0, tau))
        new = math.exp(rng.normal(rng.normal(0.0, tau), SE))
        covered += pooled.pi_low <= new <= pooled.pi_high
        ci_covered += pooled.low <= new <= pooled.high
    assert covered / draws >= 0.90
    assert ci_covered / draws < 0.80


def test_a_null_gives_inconclusive_in_95_percent_of_draws() -> None:
    """No effect and no heterogeneity: five campaigns of one class rarely (< 5%) give any verdict but inconclusive,
    neither from the prediction interval nor from two campaigns on opposite sides."""
    rng = np.random.default_rng(7)
    draws, inconclusive = 300, 0
    for _ in range(draws):
        rows = [{"campaign_id": e.campaign_id, "hardware_class": e.hardware_class, "effect": e.effect,
                 "effect_low": e.low, "effect_high": e.high} for e in _draw(rng, 5, 0.0, 0.0)]
        inconclusive += _overall(rows)["predictive_verdict"] == "inconclusive"
    assert inconclusive / draws >= 0.95


def test_claim_predictions_reads_the_campaign_table_and_leave_one_out_checks_coverage() -> None:
    rows = [_row(f"z{i}", "-", 0.2 + 0.02 * (i % 3)) | {"claim_id": "C01"} for i in range(5)]
    campaign_claims = pl.DataFrame(rows).drop("hardware_class")
    per_run = pl.DataFrame({"campaign_id": [f"z{i}" for i in range(5)], "hardware_class": ["avx512_vnni"] * 5})
    table = claim_predictions([C01], campaign_claims, per_run)
    assert table["hardware_class"].to_list() == ["avx512_vnni", ALL_CLASSES]
    assert table.row(0, named=True)["k"] == 5 and table.row(0, named=True)["pi_low"] is not None
    loo = loo_coverage([C01], campaign_claims, per_run)
    assert loo.height == 5 and loo["k_others"].to_list() == [4] * 5 and loo["covered"].all()
