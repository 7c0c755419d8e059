"""Sensitivity: each speed claim re-judged under alternative analysis choices; a changed verdict is fragile."""

from __future__ import annotations

import polars as pl

from fwbench.stats.analyze import analyze
from fwbench.stats.claims import parse_claims
from fwbench.stats.sensitivity import PRIMARY, VARIANTS
from fwbench.synthetic import base_cell, fake_system
from helpers.planted import planted_records, records_to_frames

CLAIMS = parse_claims({
    "thresholds": {"greater": {"above": 1.0, "text": "CI above 1"}},
    "claims": [{"id": "S01", "text": "TensorFlow trains the CNN faster", "source": "test", "tests": "cnn train",
                "metric": "throughput", "contrast": "defaults", "a": {"framework": "tensorflow"},
                "b": {"framework": "torch"}, "filter": {"model": ["cnn"]}, "threshold": "greater"}],
}, "test")


def judged(tf_eager_ms: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    cells = {base_cell(): 50.0, base_cell(framework="tensorflow", mode="function"): 40.0,
             base_cell(framework="tensorflow", mode="eager"): tf_eager_ms}
    frames = records_to_frames(planted_records(cells, reps=8, seed=61, system=fake_system("host-s")))
    result = analyze(frames["runs"], frames["steps"], CLAIMS, n_resamples=300)
    return result.sensitivity, result.claims


def test_every_variant_is_judged_and_a_clear_effect_is_robust() -> None:
    table, claims = judged(tf_eager_ms=42.0)
    pooled = table.filter(pl.col("system_id") == "pooled")
    # a speed claim under the defaults contrast: every variant but the memory and accuracy ones
    assert pooled["variant"].to_list() == [PRIMARY, *VARIANTS[:VARIANTS.index("total peak RSS")]]
    assert set(pooled["verdict"]) == {"supported"} and not pooled["changed"].any()
    row = claims.filter(pl.col("system_id") == "pooled").row(0, named=True)
    assert row["fragile"] is False and row["fragile_under"] is None


def test_a_verdict_that_rests_on_the_mode_choice_is_fragile() -> None:
    """TF function 1.25x faster than torch eager, TF eager 4x slower: all-pairs mixes both and flips."""
    table, claims = judged(tf_eager_ms=200.0)
    pooled = {r["variant"]: r for r in table.filter(pl.col("system_id") == "pooled").iter_rows(named=True)}
    assert pooled[PRIMARY]["verdict"] == "supported"
    assert pooled["all-pairs"]["verdict"] == "depends on the cell" and pooled["all-pairs"]["changed"]
    row = claims.filter(pl.col("system_id") == "pooled").row(0, named=True)
    assert row["fragile"] is True and row["fragile_under"] == "all-pairs"
    assert pooled["best-of"]["verdict"] == "supported"  # TF eager is never a best-of candidate
