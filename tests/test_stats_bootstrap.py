"""Bootstrap CIs, ratio CIs and tests: planted effects come back out, CIs cover the truth."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import false_discovery_control

from fwbench.stats.bootstrap import geomean_ci, median_ci, ratio_ci
from fwbench.stats.comparisons import compare, mann_whitney, tost
from fwbench.stats.metrics import run_table, steady_state_table, steady_steps
from fwbench.stats.multiple import bh_adjust
from fwbench.synthetic import base_cell
from helpers.planted import framework_cells, planted_frames


def _compare(frames: dict[str, pl.DataFrame], n_resamples: int = 1000) -> pl.DataFrame:
    steady = steady_state_table(frames["runs"], frames["steps"])
    return compare(run_table(frames["runs"], steady), steady_steps(frames["steps"], steady),
                   n_resamples=n_resamples).table


def _step_row(table: pl.DataFrame) -> dict:
    rows = table.filter((pl.col("metric") == "step_time") & (pl.col("system_id") == "pooled")).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_planted_ratio_detected_with_sign_and_covered() -> None:
    # torch 1.4x slower than tensorflow: ratio = time torch / time tensorflow = 1.4
    row = _step_row(_compare(planted_frames(framework_cells(70.0, 50.0), reps=6, seed=21, transient_steps=6)))
    assert (row["framework_a"], row["framework_b"]) == ("torch", "tensorflow")
    assert row["ratio_low"] <= 1.4 <= row["ratio_high"]
    assert row["ratio_low"] > 1.0 and row["significant"] and row["prob_a_lower"] < 0.1
    assert row["median_a"] > row["median_b"]  # absolute values stay beside the ratio
    assert row["ci_method"].startswith("hierarchical")


def test_planted_null_is_not_significant() -> None:
    row = _step_row(_compare(planted_frames(framework_cells(50.0, 50.0), reps=6, seed=22)))
    assert row["ratio_low"] < 1.0 < row["ratio_high"]
    assert not row["significant"]


def test_ratio_ci_coverage_over_seeded_replicates() -> None:
    """95% hierarchical CIs cover the true ratio of population medians in 90-99% of 200 datasets."""
    rng = np.random.default_rng(2024)
    true, n_runs, n_steps, covered = 1.4, 6, 30, 0
    for i in range(200):
        run_a = 50.0 * true * np.exp(rng.normal(0, 0.05, (n_runs, 1)))
        run_b = 50.0 * np.exp(rng.normal(0, 0.05, (n_runs, 1)))
        a = run_a * np.exp(rng.normal(0, 0.03, (n_runs, n_steps)))
        b = run_b * np.exp(rng.normal(0, 0.03, (n_runs, n_steps)))
        ci = ratio_ci(list(a), list(b), hierarchical=True, n_resamples=1000, seed=i)
        covered += ci.low <= true <= ci.high
    assert 0.90 <= covered / 200 <= 0.99


def test_median_ci_methods() -> None:
    assert median_ci([1, 2, 3, 4, 5, 6, 7]).method == "BCa"
    small = median_ci([1.0, 2.0, 3.0])
    assert small.method == "percentile" and small.low <= 2.0 <= small.high
    assert median_ci([5.0] * 8).method.startswith("degenerate")
    one = median_ci([4.0])
    assert one.estimate == 4.0 and np.isnan(one.low) and "1 run" in one.method
    assert median_ci([]).n == 0


def test_median_ci_is_deterministic() -> None:
    x = np.random.default_rng(1).lognormal(size=9)
    assert median_ci(x, seed=3) == median_ci(x, seed=3)


def test_geomean_of_ratios() -> None:
    rng = np.random.default_rng(5)
    reps = [np.log(r) + rng.normal(0, 0.02, 2000) for r in (1.2, 1.5)]
    ci = geomean_ci(reps, [np.log(1.2), np.log(1.5)])
    assert ci.estimate == pytest.approx(np.sqrt(1.2 * 1.5))
    assert ci.low < ci.estimate < ci.high and ci.n == 2
    single = geomean_ci(reps[:1], [np.log(1.2)])
    q = np.exp(np.quantile(reps[0], [0.025, 0.975]))
    assert single.low == pytest.approx(q[0], rel=0.02) and single.high == pytest.approx(q[1], rel=0.02)


def test_bh_matches_scipy_and_keeps_nan() -> None:
    p = np.random.default_rng(7).uniform(0, 0.2, 30)
    assert np.allclose(bh_adjust(p), false_discovery_control(p, method="bh"))
    with_nan = np.concatenate([p[:5], [np.nan]])
    out = bh_adjust(with_nan)
    assert np.isnan(out[-1]) and np.allclose(out[:5], false_discovery_control(p[:5]))


def test_comparisons_apply_bh_per_scope() -> None:
    cells = framework_cells(70.0, 50.0) | {base_cell(framework="tensorflow", mode="xla"): 52.0}
    table = _compare(planted_frames(cells, reps=5, seed=23), n_resamples=300)
    for scope in table["system_id"].unique():
        sub = table.filter(pl.col("system_id") == scope)
        assert np.allclose(sub["p_adjusted"].to_numpy(), false_discovery_control(sub["p_value"].to_numpy()))
    kinds = set(table["kind"])
    assert kinds == {"framework", "mode"}


def test_mann_whitney_and_tost() -> None:
    a, b = np.array([1.0, 1.1, 1.2]), np.array([2.0, 2.1, 2.2, 2.3])
    u, p, prob = mann_whitney(a, b)
    assert u == 0 and prob == 1.0 and p < 0.1
    rng = np.random.default_rng(9)
    same = rng.lognormal(0, 0.01, 40), rng.lognormal(0, 0.01, 40)
    assert tost(*same, margin=0.05) < 0.05
    assert tost(1.4 * same[0], same[1], margin=0.05) > 0.5


def test_hierarchical_handles_unequal_run_lengths() -> None:
    rng = np.random.default_rng(10)
    a = [50 * np.exp(rng.normal(0, 0.03, n)) for n in (12, 30, 20)]
    b = [40 * np.exp(rng.normal(0, 0.03, n)) for n in (25, 15, 18)]
    ci = ratio_ci(a, b, hierarchical=True, n_resamples=500)
    assert ci.low < 1.25 < ci.high and np.isfinite(ci.log_replicates).all()
