"""Campaigns in the statistics: a framework-specific slowdown planted in one campaign makes a claim
`not reproducible` (both effects shown), two campaigns without a planted difference agree, and the
variance shares recover planted campaign, process and step variances."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from fwbench.stats.analyze import analyze
from fwbench.stats.claims import parse_claims
from fwbench.stats.metrics import run_table, steady_state_table, steady_steps
from fwbench.stats.reproducibility import NOT_REPRODUCIBLE, variance_components
from fwbench.synthetic import base_cell, fake_system
from helpers.planted import framework_cells, planted_records, records_to_frames

CLAIMS = parse_claims({
    "thresholds": {"greater": {"above": 1.0, "text": "CI above 1"}},
    "claims": [{"id": "R01", "text": "TensorFlow trains the CNN faster", "source": "test", "tests": "cnn train",
                "metric": "step_time", "contrast": "all-pairs", "a": {"framework": "torch"},
                "b": {"framework": "tensorflow"},
                "filter": {"model": ["cnn"]}, "threshold": "greater"}],
}, "test")
SYSTEM = fake_system("campaign-host")
TORCH_MS, TF_MS = 50.0, 40.0  # TensorFlow 1.25x faster: R01 supported


def campaign_frames(factors: dict[str, tuple[float, float]], reps: int = 6) -> dict[str, pl.DataFrame]:
    """One campaign per entry, campaign id -> (torch factor, TF factor) on the step times above; one
    system (campaigns on different days)."""
    runs, steps = [], []
    for i, (campaign, (torch_x, tf_x)) in enumerate(factors.items()):
        frames = records_to_frames(planted_records(framework_cells(TORCH_MS * torch_x, TF_MS * tf_x), reps=reps,
                                                   seed=i, system=SYSTEM))
        runs.append(frames["runs"].with_columns(pl.lit(campaign).alias("campaign_id")))
        steps.append(frames["steps"])
    return {"runs": pl.concat(runs), "steps": pl.concat(steps)}


def pooled(result, claim_id: str = "R01") -> dict:
    return result.claims.filter((pl.col("claim_id") == claim_id) & (pl.col("system_id") == "pooled")).row(0, named=True)


def test_a_framework_specific_slowdown_in_one_campaign_makes_the_claim_not_reproducible() -> None:
    first_only = campaign_frames({"20261125T143029Z-aaaa": (1.0, 1.0)})
    assert pooled(analyze(first_only["runs"], first_only["steps"], CLAIMS, n_resamples=500))["verdict"] == "supported"
    # a second day on which the machine slows TensorFlow 2.5x and torch not at all
    frames = campaign_frames({"20261125T143029Z-aaaa": (1.0, 1.0), "20261129T120000Z-bbbb": (1.0, 2.5)})
    result = analyze(frames["runs"], frames["steps"], CLAIMS, n_resamples=500)
    by_campaign = result.campaign_claims.sort("campaign_id")
    assert by_campaign["verdict"].to_list() == ["supported", "contradicted"]
    row = pooled(result)
    assert row["verdict"] == NOT_REPRODUCIBLE
    assert "20261125T143029Z-aaaa: supported 1.2" in row["reason"]
    assert "20261129T120000Z-bbbb: contradicted 0.5" in row["reason"]  # both effects shown
    host = result.claims.filter((pl.col("claim_id") == "R01") & (pl.col("system_id") == SYSTEM["system_id"]))
    assert host["verdict"].to_list() == [NOT_REPRODUCIBLE]  # the host's two campaigns disagree too
    pair = result.reproducibility.filter(pl.col("kind") == "claim").row(0, named=True)
    assert pair["effect_a"] == pytest.approx(1.25, rel=0.1) and pair["effect_b"] == pytest.approx(0.5, rel=0.1)
    assert pair["ratio_b_over_a"] == pytest.approx(0.4, rel=0.1) and pair["ratio_high"] < 1
    assert pair["agree"] is False
    assert set(result.campaign_claims["campaign_id"]) == {"20261125T143029Z-aaaa", "20261129T120000Z-bbbb"}


def test_two_campaigns_without_a_planted_difference_agree() -> None:
    frames = campaign_frames({"20261125T143029Z-aaaa": (1.0, 1.0), "20261129T120000Z-bbbb": (1.0, 1.0)})
    result = analyze(frames["runs"], frames["steps"], CLAIMS, n_resamples=500)
    assert result.campaign_claims["verdict"].to_list() == ["supported", "supported"]
    assert pooled(result)["verdict"] == "supported"
    pairs = result.reproducibility
    assert pairs.height >= 2 and pairs.filter(pl.col("agree") == False).height == 0  # noqa: E712
    step_time = (pl.col("kind") == "comparison") & pl.col("id").str.starts_with("step_time")
    comparison = pairs.filter(step_time).row(0, named=True)
    assert comparison["ratio_low"] < 1 < comparison["ratio_high"]  # the same ratio on both days


def test_cells_only_one_campaign_measured_do_not_count_as_disagreement() -> None:
    """A campaign of another grid (the ablation grid's extra shapes) adds cells, not evidence against
    reproducibility: campaigns are judged on the cells they share."""
    frames = campaign_frames({"20261125T143029Z-aaaa": (1.0, 1.0), "20261129T120000Z-bbbb": (1.0, 1.0)})
    extra = records_to_frames(planted_records(framework_cells(TF_MS, TORCH_MS * 1.5, batch_size=64), reps=6, seed=9,
                                              system=SYSTEM))  # at batch 64 TensorFlow is the slower one
    runs = pl.concat([frames["runs"], extra["runs"].with_columns(pl.lit("20261129T120000Z-bbbb").alias("campaign_id"))])
    steps = pl.concat([frames["steps"], extra["steps"]])
    result = analyze(runs, steps, CLAIMS, n_resamples=500)
    assert result.campaign_claims["verdict"].to_list() == ["supported", "supported"]  # the shared cell only
    assert pooled(result)["verdict"] == "depends on the cell"  # the pooled verdict reads every cell


def test_campaigns_that_agree_on_their_common_cells_are_not_not_reproducible() -> None:
    """Two default-like campaigns measure two shapes (TF faster at batch 32, slower at batch 64: the
    claim depends on the cell); an ablation-like third measures batch 32 only. Each pair is judged on
    the cells both measured, so the third agrees with both, and the host's verdict is not `not reproducible`."""
    ids = ("20261125T143029Z-aaaa", "20261129T120000Z-bbbb", "20261130T120000Z-cccc")
    frames = campaign_frames(dict.fromkeys(ids, (1.0, 1.0)))
    extra = [records_to_frames(planted_records(framework_cells(TF_MS, TORCH_MS * 1.5, batch_size=64), reps=6,
                                               seed=10 + i, system=SYSTEM)) for i in range(2)]
    runs = pl.concat([frames["runs"], *[e["runs"].with_columns(pl.lit(c).alias("campaign_id"))
                                        for e, c in zip(extra, ids[:2])]])
    steps = pl.concat([frames["steps"], *[e["steps"] for e in extra]])
    result = analyze(runs, steps, CLAIMS, n_resamples=500)
    pairs = result.reproducibility.filter(pl.col("kind") == "claim").sort("campaign_a", "campaign_b")
    assert pairs.select("campaign_a", "campaign_b", "n_common_cells").rows() == [
        (ids[0], ids[1], 4), (ids[0], ids[2], 2), (ids[1], ids[2], 2)]
    assert pairs["verdict_a"].to_list() == ["depends on the cell", "supported", "supported"]
    assert pairs["agree"].to_list() == [True, True, True]
    host = result.claims.filter((pl.col("claim_id") == "R01") & (pl.col("system_id") == SYSTEM["system_id"]))
    assert host["verdict"].to_list() == ["depends on the cell"]


def test_one_campaign_adds_no_campaign_verdicts() -> None:
    frames = campaign_frames({"20261125T143029Z-aaaa": (1.0, 1.0)})
    result = analyze(frames["runs"], frames["steps"], CLAIMS, n_resamples=300)
    assert result.campaign_claims.height == 0 and result.reproducibility.height == 0
    assert pooled(result)["verdict"] == "supported"


def _nested(sd_campaign: float, sd_process: float, sd_step: float, *, campaigns: int, runs: int, steps: int,
            seed: int = 0) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """A per-run table and steady steps with planted log-normal campaign, process and step effects."""
    rng = np.random.default_rng(seed)
    cell = base_cell()
    rows, series = [], {}
    for c in range(campaigns):
        c_eff = rng.normal(0, sd_campaign)
        for r in range(runs):
            run_id = f"c{c}r{r}"
            log_ms = math.log(40.0) + c_eff + rng.normal(0, sd_process) + rng.normal(0, sd_step, size=steps)
            series[run_id] = np.exp(log_ms)
            rows.append({"run_id": run_id, "campaign_id": f"c{c:03d}", "cell_id": cell.cell_id, **cell.to_dict(),
                         "step_ms": float(np.median(series[run_id]))})
    return pl.DataFrame(rows), series


def test_variance_shares_recover_planted_components() -> None:
    # planted variances 0.04, 0.01, 0.0025: shares 0.762, 0.190, 0.048
    per_run, series = _nested(0.2, 0.1, 0.05, campaigns=40, runs=10, steps=50)
    row = variance_components(per_run, series).row(0, named=True)
    assert row["n_campaigns"] == 40 and row["n_runs"] == 400
    assert row["step_var"] == pytest.approx(0.0025, rel=0.05)
    assert row["process_var"] == pytest.approx(0.01, rel=0.2)
    assert row["campaign_var"] == pytest.approx(0.04, rel=0.35)
    planted = {"campaign_share": 0.04 / 0.0525, "process_share": 0.01 / 0.0525, "step_share": 0.0025 / 0.0525}
    for name, share in planted.items():
        assert row[name] == pytest.approx(share, abs=0.08), name
    # no campaign effect planted: its share is near 0
    per_run, series = _nested(0.0, 0.1, 0.05, campaigns=40, runs=10, steps=50, seed=1)
    assert variance_components(per_run, series).row(0, named=True)["campaign_share"] < 0.05


def test_variance_of_the_real_pipeline_has_a_row_per_usable_cell() -> None:
    frames = campaign_frames({"20261125T143029Z-aaaa": (1.0, 1.0), "20261129T120000Z-bbbb": (1.2, 1.0)})
    steady = steady_state_table(frames["runs"], frames["steps"])
    per_run = run_table(frames["runs"], steady)
    table = variance_components(per_run, steady_steps(frames["steps"], steady))
    assert table.height == 2 and set(table["n_campaigns"].to_list()) == {2}
    shares = table.select(pl.sum_horizontal("campaign_share", "process_share", "step_share")).to_series()
    assert all(s == pytest.approx(1.0) for s in shares)


def test_runs_off_their_campaigns_canary_or_steal_are_flagged_not_dropped() -> None:
    from fwbench.stats.machine_flags import machine_flags

    runs = pl.DataFrame({
        "run_id": [f"r{i}" for i in range(8)], "system_id": ["s"] * 8, "cell_id": ["c"] * 8,
        "campaign_id": ["A"] * 4 + ["B"] * 4,
        "canary_ms": [4.5, 4.6, 4.4, 6.0, 9.0, 9.1, 8.9, 9.0],  # r3 slow for A; B slow throughout (no flag)
        "steal_pct": [0.0, 0.1, 0.0, 0.0, 1.0, 1.2, 6.0, 1.1],  # r6 lost CPU to steal
    })
    flags = machine_flags(runs)
    assert flags.height == 8
    assert flags.filter(pl.col("flagged"))["run_id"].to_list() == ["r3", "r6"]
    reasons = dict(flags.select("run_id", "reason").iter_rows())
    assert reasons["r3"].startswith("canary 1.32x")  # 6.0 / median 4.55 and reasons["r6"].startswith("steal 6.0%")
    legacy = runs.with_columns(pl.lit(None, dtype=pl.Float64).alias("canary_ms"),
                               pl.lit(None, dtype=pl.Float64).alias("steal_pct"))
    assert machine_flags(legacy).height == 0  # runs before the machine state was recorded: nothing to judge


def test_five_or_more_campaigns_are_resampled_first_so_the_pooled_ci_carries_day_to_day_variance() -> None:
    from fwbench.stats.bootstrap import CAMPAIGN_LEVEL, CAMPAIGN_LEVEL_MIN, HIERARCHICAL

    rng = np.random.default_rng(3)
    days = {f"2026120{d}T120000Z-{d:04x}": (1.0, float(np.exp(rng.normal(0, 0.3)))) for d in range(1, 7)}
    frames = campaign_frames(days, reps=4)  # torch steady, TensorFlow moving by ~30% from day to day
    result = analyze(frames["runs"], frames["steps"], CLAIMS, n_resamples=400)
    pooled_rows = result.comparisons.filter((pl.col("system_id") == "pooled") & (pl.col("metric") == "step_time"))
    row = pooled_rows.row(0, named=True)
    assert len(days) >= CAMPAIGN_LEVEL_MIN and row["ci_method"] == CAMPAIGN_LEVEL
    # the same runs as one campaign: runs and steps only, a narrower (overconfident) interval
    one = frames["runs"].with_columns(pl.lit("20261201T120000Z-0001").alias("campaign_id"))
    flat = analyze(one, frames["steps"], CLAIMS, n_resamples=400).comparisons.filter(
        (pl.col("system_id") == "pooled") & (pl.col("metric") == "step_time")).row(0, named=True)
    assert flat["ci_method"] == HIERARCHICAL
    width = math.log(row["ratio_high"] / row["ratio_low"])
    assert width > 1.5 * math.log(flat["ratio_high"] / flat["ratio_low"])
    # four campaigns: each is judged on its own; the pooled interval stays runs-then-steps
    four = campaign_frames(dict(list(days.items())[:4]), reps=4)
    rows = analyze(four["runs"], four["steps"], CLAIMS, n_resamples=300).comparisons
    assert set(rows.filter(pl.col("metric") == "step_time")["ci_method"]) == {HIERARCHICAL}
