"""Latency percentiles (runs.p50_ms/p90_ms/p99_ms at ingest, cell_stats p*_ms_median with a bootstrap CI
across runs): a planted step-time distribution's p50 and p99 are recovered within their CIs."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from fwbench.stats.analyze import analyze
from fwbench.stats.claims import parse_claims
from fwbench.synthetic import base_cell
from helpers.planted import planted_records, records_to_frames

MU, SIGMA = math.log(4.0), 0.25  # request latency ~ lognormal: median 4 ms, a long right tail
REQUESTS, RUNS = 1000, 8
NO_CLAIMS = parse_claims({"claims": []}, "test")


def true_percentile(q: float) -> float:
    return math.exp(MU + SIGMA * norm.ppf(q / 100))


def latency_frames(seed: int = 0, sigma: float = SIGMA) -> dict[str, pl.DataFrame]:
    """RUNS batch-1 inference runs of REQUESTS measured steps drawn from the lognormal above."""
    cell = base_cell(phase="infer", batch_size=1)
    records = planted_records({cell: 4.0}, reps=RUNS, seed=seed)
    rng = np.random.default_rng(seed)
    for record in records:
        record["steps"]["measured_ms"] = rng.lognormal(MU, sigma, REQUESTS).tolist()
    return records_to_frames(records)


def test_per_run_percentiles_are_the_percentiles_of_the_measured_steps() -> None:
    frames = latency_frames()
    steps = frames["steps"].filter(pl.col("phase") == "measured")
    run = frames["runs"].row(0, named=True)
    mine = steps.filter(pl.col("run_id") == run["run_id"])["ms"].to_numpy()
    for q in (50, 90, 99):
        assert run[f"p{q}_ms"] == pytest.approx(float(np.percentile(mine, q)))
    assert run["p50_ms"] < run["p90_ms"] < run["p99_ms"]


@pytest.mark.parametrize("q", [50, 99])
def test_a_planted_percentile_is_recovered_within_its_ci(q: int) -> None:
    frames = latency_frames()
    stats = analyze(frames["runs"], frames["steps"], NO_CLAIMS, n_resamples=1000).cell_stats
    row = stats.filter(pl.col("system_id") == "pooled").row(0, named=True)
    assert row[f"p{q}_ms_n"] == RUNS
    assert row[f"p{q}_ms_low"] < true_percentile(q) < row[f"p{q}_ms_high"]
    assert row[f"p{q}_ms_high"] / row[f"p{q}_ms_low"] < 1.1  # 8 runs of 1,000 requests pin it within 10%


def test_a_heavier_tail_moves_p99_and_leaves_p50() -> None:
    """Same median, twice the log-spread: p99 rises by exp(SIGMA * z_0.99) = 1.79x, p50 stays."""
    base, heavy = (analyze(f["runs"], f["steps"], NO_CLAIMS, n_resamples=1000).cell_stats.row(0, named=True)
                   for f in (latency_frames(), latency_frames(seed=1, sigma=2 * SIGMA)))
    assert heavy["p99_ms_low"] > base["p99_ms_high"]
    assert heavy["p50_ms_low"] < base["p50_ms_median"] < heavy["p50_ms_high"] or \
        abs(heavy["p50_ms_median"] / base["p50_ms_median"] - 1) < 0.03


def test_which_runtime_names_the_fastest_and_the_tied_by_p99_at_batch_1() -> None:
    """Three ways to serve the same model at batch 1: two planted equal, one 1.5x slower."""

    planted = {"native": 1.0, "torch_export": 1.0, "onnxruntime": 1.5}
    runs, steps = [], []
    for i, (runtime, factor) in enumerate(planted.items()):
        cell = base_cell(phase="infer", batch_size=1, runtime=runtime)
        records = planted_records({cell: 4.0}, reps=RUNS, seed=10 + i)
        rng = np.random.default_rng(10 + i)
        for record in records:
            record["steps"]["measured_ms"] = (factor * rng.lognormal(MU, SIGMA, REQUESTS)).tolist()
        frames = records_to_frames(records)
        runs.append(frames["runs"])
        steps.append(frames["steps"])
    result = analyze(pl.concat(runs), pl.concat(steps), NO_CLAIMS, n_resamples=1000)
    table = result.which_runtime.filter(pl.col("system_id") == "pooled").sort("rank")
    assert table["scenario"].unique().to_list() == ["latency"] and table["metric"][0] == "p99_ms"
    by_runtime = {r["runtime"]: r for r in table.iter_rows(named=True)}
    assert by_runtime["onnxruntime"]["rank"] == 3 and not by_runtime["onnxruntime"]["tied_with_fastest"]
    assert by_runtime["onnxruntime"]["ratio_low"] < 1.5 < by_runtime["onnxruntime"]["ratio_high"] * 1.05
    equal = [by_runtime["native"], by_runtime["torch_export"]]  # planted equal: within the run-to-run spread
    assert {r["rank"] for r in equal} == {1, 2} and all(r["ratio_to_fastest"] < 1.06 for r in equal)
    assert all(r["tied_with_fastest"] == (r["fastest"] or r["ratio_low"] <= 1.0) for r in table.iter_rows(named=True))
    assert table.filter(pl.col("fastest")).height == 1
