"""A/A checks (fwbench.stats.aa_checks) on planted runs: halves of identical cells rarely differ, a planted
difference between even and odd repetitions is found, a drift over the campaign is not (the halves alternate),
and the rates add up per campaign, per class and overall."""

from __future__ import annotations

import numpy as np
import polars as pl

from fwbench.stats.aa_checks import AA_MIN_RUNS, ALL_CAMPAIGNS, aa_cells, aa_checks
from fwbench.stats.pooling import ALL_CLASSES

N_RESAMPLES = 400


def _campaign(rng: np.random.Generator, campaign: str, cls: str, n_cells: int, reps: int = 7,
              odd_factor: float = 1.0, drift: float = 0.0) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Runs of `n_cells` cells: step times lognormal around 10 ms; odd repetitions scaled by odd_factor; each
    repetition later in the campaign slower by `drift` (a fraction per repetition)."""
    rows, steps = [], {}
    for c in range(n_cells):
        for rep in range(reps):
            run_id = f"{campaign}-{c}-{rep}"
            level = 10.0 * np.exp(rng.normal(0, 0.03)) * (1 + drift * rep) * (odd_factor if rep % 2 else 1.0)
            series = level * np.exp(rng.normal(0, 0.02, 20))
            steps[run_id] = series
            rows.append({"run_id": run_id, "campaign_id": campaign, "hardware_class": cls, "cell_id": f"cell{c}",
                         "repetition": rep, "step_ms": float(np.median(series))})
    return rows, steps


def _runs(*campaigns: tuple[list[dict], dict[str, np.ndarray]]) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    rows = [r for c in campaigns for r in c[0]]
    steps = {k: v for c in campaigns for k, v in c[1].items()}
    return pl.DataFrame(rows), steps


def test_a_planted_even_odd_difference_is_found_and_identical_halves_mostly_are_not() -> None:
    rng = np.random.default_rng(1)
    per_run, steps = _runs(_campaign(rng, "c-null", "avx2", 30), _campaign(rng, "c-planted", "avx2", 10,
                                                                                odd_factor=1.3))
    cells = aa_cells(per_run, steps, n_resamples=N_RESAMPLES)
    planted = cells.filter(pl.col("campaign_id") == "c-planted")
    assert planted.height == 10 and planted["ci_excludes_1"].all()
    assert (planted["ratio"] < 1).all()  # even / odd: the odd half is the slower
    null = cells.filter(pl.col("campaign_id") == "c-null")
    assert null.height == 30 and null["ci_excludes_1"].sum() <= 9  # far from all: 30% at most at 3-4 runs a half
    assert set(cells["runs_per_half"]) == {3}


def test_a_drift_over_the_campaign_falls_on_both_halves() -> None:
    rng = np.random.default_rng(2)
    per_run, steps = _runs(_campaign(rng, "c", "avx2", 20, drift=0.02))
    cells = aa_cells(per_run, steps, n_resamples=N_RESAMPLES)
    # a split into the first and the second half of the campaign would see +7%; alternate repetitions see ~2%
    assert float(np.median(np.abs(np.log(cells["ratio"].to_numpy())))) < 0.03


def test_halves_with_too_few_runs_are_left_out() -> None:
    rng = np.random.default_rng(3)
    per_run, steps = _runs(_campaign(rng, "c", "avx2", 3, reps=2 * AA_MIN_RUNS - 1))
    assert aa_cells(per_run, steps, n_resamples=N_RESAMPLES).is_empty()
    assert aa_checks(per_run, steps, n_resamples=N_RESAMPLES).is_empty()


def test_rates_per_campaign_class_and_overall_add_up() -> None:
    rng = np.random.default_rng(4)
    per_run, steps = _runs(_campaign(rng, "a1", "avx2", 6, odd_factor=1.3), _campaign(rng, "a2", "avx2", 4),
                           _campaign(rng, "b1", "avx512_vnni", 5))
    table = aa_checks(per_run, steps, n_resamples=N_RESAMPLES)
    assert set(table["runs_per_half"]) == {3}
    by = {(r["hardware_class"], r["campaign_id"]): r for r in table.iter_rows(named=True)}
    assert by["avx2", "a1"]["n_false_positive"] == 6 and by["avx2", "a1"]["false_positive_rate"] == 1.0
    assert by["avx2", ALL_CAMPAIGNS]["n_cells"] == 10
    assert by[ALL_CLASSES, ALL_CAMPAIGNS]["n_cells"] == 15
    assert by[ALL_CLASSES, ALL_CAMPAIGNS]["n_false_positive"] == sum(
        by[k]["n_false_positive"] for k in (("avx2", "a1"), ("avx2", "a2"), ("avx512_vnni", "b1")))
    assert all(r["rate_low"] <= r["false_positive_rate"] <= r["rate_high"] for r in by.values())


def test_rates_are_given_per_runs_a_half() -> None:
    rng = np.random.default_rng(5)
    per_run, steps = _runs(_campaign(rng, "q", "avx2", 4, reps=5), _campaign(rng, "d", "avx2", 4, reps=7))
    table = aa_checks(per_run, steps, n_resamples=N_RESAMPLES)
    overall = table.filter((pl.col("hardware_class") == ALL_CLASSES) & (pl.col("campaign_id") == ALL_CAMPAIGNS))
    assert dict(zip(overall["runs_per_half"], overall["n_cells"])) == {2: 4, 3: 4}
