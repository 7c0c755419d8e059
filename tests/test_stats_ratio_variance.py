"""The log ratio's variance between and within campaigns (fwbench.stats.ratio_variance) on planted campaign
comparisons: a class whose campaigns agree has τ² near 0, two classes apart give the all-campaign pool a large
between share, and the campaigns needed for a ±5% prediction interval follow τ²."""

from __future__ import annotations

import math

import polars as pl

from fwbench.stats.pooling import ALL_CLASSES
from fwbench.stats.ratio_variance import MAX_CAMPAIGNS, campaigns_needed, ratio_variance

SE = 0.02
FIXED = {"metric": "step_time", "cell_id_a": "ta", "cell_id_b": "tb", "model": "cnn", "size": "small",
         "phase": "train", "batch_size": 32, "seq_len": 0, "threads": 2, "framework_a": "torch", "mode_a": "eager",
         "framework_b": "tensorflow", "mode_b": "function"}


def _comparison(campaign: str, log_ratio: float, se: float = SE) -> dict:
    return {**FIXED, "campaign_id": campaign, "ratio": math.exp(log_ratio),
            "ratio_low": math.exp(log_ratio - 1.96 * se), "ratio_high": math.exp(log_ratio + 1.96 * se)}


def _classes(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"campaign_id": list(mapping), "hardware_class": list(mapping.values())})


def test_classes_apart_put_the_variance_between_campaigns_only_across_classes() -> None:
    comps = pl.DataFrame([_comparison(f"a{i}", 0.20 + 0.002 * i) for i in range(4)]
                         + [_comparison(f"b{i}", -0.20 - 0.002 * i) for i in range(4)])
    per_run = _classes({**{f"a{i}": "avx512_vnni" for i in range(4)}, **{f"b{i}": "avx2" for i in range(4)}})
    table = {r["hardware_class"]: r for r in ratio_variance(comps, per_run).iter_rows(named=True)}
    assert set(table) == {"avx512_vnni", "avx2", ALL_CLASSES}
    assert table[ALL_CLASSES]["k"] == 8 and table["avx2"]["k"] == 4
    assert table[ALL_CLASSES]["between_share"] > 0.95
    assert table["avx2"]["tau2"] < 1e-4 < table[ALL_CLASSES]["tau2"]
    # agreeing campaigns: a +-5% interval within the class, none across the classes
    assert table["avx2"]["campaigns_for_5pct"] is not None and table[ALL_CLASSES]["campaigns_for_5pct"] is None
    assert table[ALL_CLASSES]["pi_half_width_limit"] > 0.3


def test_one_campaign_of_a_class_gives_no_class_row() -> None:
    comps = pl.DataFrame([_comparison("a0", 0.1), _comparison("b0", 0.1), _comparison("b1", 0.12)])
    per_run = _classes({"a0": "avx2", "b0": "avx512", "b1": "avx512"})
    assert sorted(ratio_variance(comps, per_run)["hardware_class"].to_list()) == [ALL_CLASSES, "avx512"]


def test_campaigns_needed_grows_with_tau_and_stops_where_tau_alone_is_too_wide() -> None:
    small, larger = campaigns_needed(0.0001, 0.0004), campaigns_needed(0.0004, 0.0004)
    assert small is not None and larger is not None and 3 <= small < larger <= MAX_CAMPAIGNS
    # 1.96 * tau > ln(1.05): no number of campaigns suffices
    assert campaigns_needed((math.log(1.05) / 1.9) ** 2, 0.0) is None
