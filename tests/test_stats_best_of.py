"""Contrasts and variants of verdicts v2: best-of chosen on held-out runs, each workload's largest size,
non-inferiority (C17), the trimmed-mean statistic and total peak RSS as sensitivity readings."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from fwbench.stats.analyze import analyze
from fwbench.stats.best_of import EVALUATION, SELECTION, choose_modes, halves
from fwbench.stats.bootstrap import TRIM, _masked_center, hierarchical_medians
from fwbench.stats.claims import parse_claims
from fwbench.synthetic import base_cell, fake_system
from helpers.planted import framework_cells, planted_records, records_to_frames

THRESHOLDS = {"greater": {"above": 1.0, "text": "CI above 1"},
              "non_inferior": {"below": 1.05, "text": "CI upper bound below 1.05"},
              "comparable": {"within": [0.9, 1.1], "text": "within 10%"}}


def _claim(**fields) -> dict:
    base = {"id": "B01", "text": "planted", "source": "test", "tests": "planted", "metric": "throughput",
            "contrast": "best-of", "a": {"framework": "tensorflow"}, "b": {"framework": "torch"},
            "threshold": "greater"}
    return base | fields


def _pooled(cells: dict, claims: list[dict], reps: int = 8, seed: int = 71, **kw) -> tuple[pl.DataFrame, pl.DataFrame]:
    frames = records_to_frames(planted_records(cells, reps=reps, seed=seed, system=fake_system("host-b"), **kw))
    result = analyze(frames["runs"], frames["steps"], parse_claims({"thresholds": THRESHOLDS, "claims": claims}),
                     n_resamples=300)
    return result.claims.filter(pl.col("system_id") == "pooled"), result.sensitivity


def test_halves_alternate_within_each_system_and_cell() -> None:
    per_run = pl.DataFrame({"system_id": ["s"] * 7 + ["t"] * 3, "cell_id": ["c"] * 10, "campaign_id": ["k"] * 10,
                            "repetition": [*range(7), *range(3)], "run_id": [f"r{i}" for i in range(10)]})
    split = halves(per_run)
    counts = split.group_by("system_id", "half").len().sort("system_id", "half")
    assert counts.rows() == [("s", EVALUATION, 4), ("s", SELECTION, 3), ("t", EVALUATION, 2), ("t", SELECTION, 1)]
    assert halves(per_run.reverse()).sort("run_id").equals(split.sort("run_id"))  # order-independent


def test_best_of_chooses_the_fastest_candidate_and_never_tf_eager() -> None:
    """torch compile beats eager, TF function beats XLA; TF eager is fastest of all but no candidate."""
    cells = {base_cell(): 50.0, base_cell(mode="compile"): 30.0,
             base_cell(framework="tensorflow", mode="function"): 40.0,
             base_cell(framework="tensorflow", mode="xla"): 60.0, base_cell(framework="tensorflow", mode="eager"): 20.0}
    pooled, _ = _pooled(cells, [_claim()])
    row = pooled.row(0, named=True)
    assert row["contrast"] == "best-of" and "tensorflow function, torch compile" in row["reason"]
    assert row["effect"] == pytest.approx(30.0 / 40.0, rel=0.06)  # TF function / torch compile throughput
    assert row["verdict"] == "contradicted", row["reason"]


def test_the_mode_is_chosen_on_the_selection_half_only() -> None:
    """A mode that looks fastest in the selection half is chosen even if the evaluation half disagrees:
    the choice never peeks at the runs that measure the effect."""
    def runs(ms: dict[str, list[float]]) -> pl.DataFrame:
        rows = [{"system_id": "s", "cell_id": f"torch-{mode}", "framework": "torch", "mode": mode, "model": "cnn",
                 "size": "small", "phase": "train", "batch_size": 32, "seq_len": 0, "device": "cpu", "threads": 2,
                 "dtype": "float32", "campaign_id": "k", "repetition": i, "run_id": f"{mode}{i}", "step_ms": v}
                for mode, values in ms.items() for i, v in enumerate(values)]
        return pl.DataFrame(rows)

    # positions 0, 2, 4, 6 evaluate; 1, 3, 5 select: compile is fast only at odd positions
    split = halves(runs({"eager": [50.0] * 7, "compile": [90.0, 30.0, 90.0, 30.0, 90.0, 30.0, 90.0]}))
    chosen = choose_modes(split.filter(pl.col("half") == SELECTION))
    assert set(chosen.values()) == {"compile"} and {scope for scope, _, _ in chosen} == {"s", "pooled"}
    evaluation = split.filter(pl.col("half") == EVALUATION)
    assert evaluation.filter(pl.col("mode") == "compile")["step_ms"].to_list() == [90.0] * 4


def test_largest_size_keeps_each_familys_largest_cells() -> None:
    cells = framework_cells(50.0, 100.0, size="small") | framework_cells(100.0, 50.0, size="medium")
    claim = _claim(contrast="all-pairs", filter={"size": "largest"})
    row = _pooled(cells, [claim])[0].row(0, named=True)
    assert row["n_cells"] == 1, row["reason"]
    assert row["verdict"] == "supported", row["reason"]  # medium: TF 2x faster; small (2x slower) left out


@pytest.mark.parametrize(("torch_ms", "verdict"), [(50.5, "supported"), (60.0, "contradicted"),
                                                   (52.0, "inconclusive")])
def test_non_inferiority_at_five_percent(torch_ms: float, verdict: str) -> None:
    """C17: torch step time at most 5% above TF's; 1% slower passes, 20% slower fails, 4% is undecided."""
    claim = _claim(metric="step_time", contrast="all-pairs", a={"framework": "torch"},
                   b={"framework": "tensorflow"}, threshold="non_inferior")
    noise = 0.02 if verdict == "inconclusive" else 0.005
    row = _pooled(framework_cells(torch_ms, 50.0), [claim], run_noise=noise)[0].row(0, named=True)
    assert row["verdict"] == verdict, row["reason"]


def test_masked_trimmed_mean_matches_scipy_on_ragged_runs() -> None:
    from scipy.stats import trim_mean

    rng = np.random.default_rng(3)
    runs = [rng.lognormal(3, 0.3, n) for n in (7, 12, 20)]
    padded = np.full((3, 20), 0.0)
    for i, r in enumerate(runs):
        padded[i, :len(r)] = r
    got = _masked_center(padded, np.array([7, 12, 20]), 20, "trimmed mean")
    assert got == pytest.approx([trim_mean(r, TRIM) for r in runs])
    reps = hierarchical_medians(runs, 200, np.random.default_rng(0), "trimmed mean")
    assert reps.shape == (200,) and np.all(np.isfinite(reps))


def test_sensitivity_reads_total_peak_rss_for_memory_claims_only() -> None:
    """Above-import memory equal; TF's import is heavier (synthetic: 500 vs 220 MB), so total RSS differs."""
    memory = _claim(id="M01", metric="memory", contrast="defaults", a={"framework": "torch"},
                    b={"framework": "tensorflow"}, threshold="comparable")
    cells = {base_cell(): 50.0, base_cell(framework="tensorflow", mode="function"): 50.0}
    pooled, table = _pooled(cells, [memory, _claim(contrast="defaults")])
    assert pooled.filter(pl.col("claim_id") == "M01")["verdict"].item() == "supported"
    variants = table.filter(pl.col("system_id") == "pooled").group_by("claim_id").agg(pl.col("variant"))
    by_claim = dict(variants.iter_rows())
    assert "total peak RSS" in by_claim["M01"] and "trimmed mean" not in by_claim["M01"]
    assert "total peak RSS" not in by_claim["B01"] and "trimmed mean" in by_claim["B01"]
    total = table.filter((pl.col("claim_id") == "M01") & (pl.col("variant") == "total peak RSS")
                         & (pl.col("system_id") == "pooled")).row(0, named=True)
    assert total["verdict"] == "contradicted" and total["changed"]
