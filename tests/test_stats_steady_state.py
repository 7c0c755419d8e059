"""Steady-state detection: planted warm-up transients are found, clean runs are left whole."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import ruptures as rpt

from fwbench.stats.metrics import run_table, steady_state_table
from fwbench.stats.steady_state import _l2_cost, despike, detect_steady_state
from fwbench.synthetic import base_cell, step_times
from helpers.planted import planted_frames


def test_planted_transient_is_cut_off() -> None:
    rng = np.random.default_rng(11)
    starts, errors = [], []
    for _ in range(60):
        steps = step_times(rng, 50.0, 40, noise=0.03, transient_steps=10, transient_factor=2.0)
        state = detect_steady_state(steps)
        assert state.stationary, state.reason
        starts.append(state.steady_start)
        errors.append(state.steady_median_ms / 50.0 - 1.0)
    starts = np.array(starts)
    # the planted decay is > 5% above the level for its first ~8 steps, and over by step 10
    assert np.mean((starts >= 5) & (starts <= 13)) >= 0.95
    assert np.median(starts) >= 7
    assert np.max(np.abs(errors)) < 0.03


def test_clean_run_keeps_every_step() -> None:
    rng = np.random.default_rng(12)
    states = [detect_steady_state(step_times(rng, 20.0, 30, noise=0.03)) for _ in range(60)]
    assert all(s.stationary for s in states)
    assert np.mean([s.steady_start == 0 for s in states]) >= 0.95


def test_drift_is_flagged_and_kept_with_its_all_steps_median_and_short_runs_are_excluded() -> None:
    rng = np.random.default_rng(13)
    drifting = 50.0 * np.linspace(1.0, 1.4, 40) * np.exp(rng.normal(0, 0.01, 40))
    state = detect_steady_state(drifting)
    assert state.ok and state.stationary is False and state.stat_start == 0
    assert state.steady_median_ms == pytest.approx(float(np.median(drifting)))
    assert "drift" in state.reason or "no steady state" in state.reason
    short = detect_steady_state([10.0, 10.1, 9.9])
    assert not short.ok and "too few measured steps" in short.reason
    assert not detect_steady_state([]).ok


def test_cumsum_cost_matches_ruptures_l2() -> None:
    rng = np.random.default_rng(14)
    for _ in range(10):
        x = np.log(step_times(rng, 50.0, 40, 0.03, transient_steps=10)).reshape(-1, 1)
        for pen in (0.001, 0.01):
            ours = rpt.Pelt(custom_cost=_l2_cost(), min_size=5, jump=1).fit(x).predict(pen=pen)
            theirs = rpt.Pelt(model="l2", min_size=5, jump=1).fit(x).predict(pen=pen)
            assert ours == theirs


def test_table_flags_failed_runs_and_keeps_them() -> None:
    frames = planted_frames({base_cell(): 30.0}, reps=3, seed=1)
    failed = planted_frames({base_cell(): 30.0}, reps=2, seed=2, status="failed")
    runs = frames["runs"].vstack(failed["runs"])
    steady = steady_state_table(runs, frames["steps"])
    assert steady.height == 5
    bad = steady.filter(~steady["ok"])
    assert bad.height == 2 and all(r.startswith("status failed") for r in bad["reason"])
    per_run = run_table(runs, steady)
    assert per_run.filter(per_run["status"] != "ok")["step_ms"].null_count() == 2


@pytest.mark.parametrize("transient", [0, 8])
def test_run_statistic_is_steady_median(transient: int) -> None:
    frames = planted_frames({base_cell(): 40.0}, reps=4, seed=3, transient_steps=transient, run_noise=0.0)
    steady = steady_state_table(frames["runs"], frames["steps"])
    assert steady["ok"].all()
    assert np.allclose(steady["steady_median_ms"].to_numpy(), 40.0, rtol=0.03)


def test_first_step_split_by_compile_cache_state() -> None:
    frames = planted_frames({base_cell(framework="torch", mode="compile"): 30.0}, reps=4, seed=4)
    runs = frames["runs"].with_columns(
        pl.when(pl.col("repetition") < 2).then(pl.lit("cold")).otherwise(pl.lit("warm")).alias("compile_cache_state"))
    per_run = run_table(runs, steady_state_table(runs, frames["steps"]))
    assert per_run["first_step_s"].null_count() == 2 and per_run["first_step_warm_s"].null_count() == 2


def stationary_with_spikes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Stationary after warm-up: 8% lognormal step noise, 1% of steps 3x slower (the issue's held-out runs)."""
    steps = 50.0 * np.exp(rng.normal(0.0, 0.08, n))
    steps[rng.random(n) < 0.01] *= 3.0
    return steps


@pytest.mark.parametrize(("n", "runs", "limit"), [(50, 600, 0.01), (20, 1000, 0.015)])
def test_isolated_slow_steps_do_not_exclude_stationary_runs(n: int, runs: int, limit: float) -> None:
    """< 1% of 50-step runs (the issue's runs; measured 0.2%); 20 steps (default grid) sit near 0.9%, where
    half are Theil-Sen drift calls at 8% noise, so that size gets a 1.5% bound. The old rule excluded 6-10%."""
    rng = np.random.default_rng(100 + n)
    states = [detect_steady_state(stationary_with_spikes(rng, n)) for _ in range(runs)]
    excluded = [s.reason for s in states if not s.stationary]
    assert len(excluded) < limit * len(states), excluded[:5]


def test_despike_removes_one_slow_step_and_keeps_a_sustained_shift() -> None:
    log_ms = np.log(np.full(20, 50.0))
    log_ms[7] += np.log(3.0)  # one slow step
    log_ms[14:] += np.log(1.3)  # a shift that lasts
    cleaned = despike(log_ms, sigma=0.02)
    assert cleaned[7] == pytest.approx(np.log(50.0))
    assert np.allclose(cleaned[14:], np.log(65.0)) and np.allclose(cleaned[:7], np.log(50.0))


@pytest.mark.parametrize("noise", [0.03, 0.08])
def test_late_level_shifts_and_strong_drifts_are_still_flagged_non_stationary(noise: float) -> None:
    rng = np.random.default_rng(int(noise * 1000))
    for n in (20, 50):
        shifted = []
        for _ in range(100):
            steps = 50.0 * np.exp(rng.normal(0.0, noise, n))
            steps[int(0.7 * n):] *= 1.3
            shifted.append(detect_steady_state(steps).stationary)
        assert np.mean(shifted) <= 0.05, (n, np.mean(shifted))
    drifting = [detect_steady_state(50.0 * np.exp(rng.normal(0.0, 0.03, 50)) * np.linspace(1.0, 1.5, 50)).stationary
                for _ in range(100)]
    assert np.mean(drifting) <= 0.05


def test_speed_correlated_drift_leaves_the_primary_estimate_unbiased() -> None:
    """The two fastest of eight processes drift (as on the AVX2 host, where the drift rule removed a
    cell's two fastest runs): kept with their all-steps median, the cell median is the median of what
    the processes ran at; dropping them, the old rule, moves it up by > 5%."""
    levels = 40.0 * np.exp(np.linspace(-0.3, 0.3, 8))  # process levels, fastest first
    ramps = [np.linspace(1.0, 1.4, 40) if k < 2 else np.ones(40) for k in range(8)]
    truth = float(np.median([level * np.median(ramp) for level, ramp in zip(levels, ramps)]))
    frames = planted_frames({base_cell(): 40.0}, reps=8, seed=21, run_noise=0.0, measured_steps=40)
    runs = frames["runs"].sort("repetition")
    rng = np.random.default_rng(22)
    series = {run_id: levels[k] * ramps[k] * np.exp(rng.normal(0.0, 0.01, 40)) for k, run_id in enumerate(runs["run_id"])}
    measured = pl.col("phase") == "measured"
    steps = frames["steps"].sort("run_id", "step_index").with_columns(
        pl.int_range(pl.len()).over("run_id", "phase").alias("_i"))
    planted = pl.DataFrame([{"run_id": r, "_i": i, "_ms": float(v)} for r, s in series.items() for i, v in enumerate(s)])
    steps = (steps.join(planted, on=["run_id", "_i"], how="left")
             .with_columns(ms=pl.when(measured).then(pl.col("_ms")).otherwise(pl.col("ms"))).drop("_i", "_ms"))
    steady = steady_state_table(runs, steps)
    fast = runs["run_id"].head(2).to_list()
    flagged = steady.filter(pl.col("run_id").is_in(fast))
    assert flagged["ok"].all() and not flagged["stationary"].any()
    assert steady.filter(~pl.col("run_id").is_in(fast))["stationary"].all()
    primary = run_table(runs, steady)["step_ms"]
    assert primary.null_count() == 0
    assert primary.median() == pytest.approx(truth, rel=0.01)
    dropped = run_table(runs, steady.with_columns(ok=pl.col("ok") & pl.col("stationary")))["step_ms"]
    assert dropped.drop_nulls().median() > truth * 1.05
