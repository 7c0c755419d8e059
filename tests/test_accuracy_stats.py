"""Accuracy-track analysis on planted synthetic accuracies gives the planted verdicts (C08, C14), judged
by the claims code like any other claim, with the threshold written in analysis/claims.yaml."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from fwbench.stats import accuracy as A
from fwbench.stats.claims import Claim, Evidence, evaluate_claims, load_claims
from fwbench.stats.comparisons import Comparisons, empty_table

N_RES = 500
CLAIMS = {c.id: c for c in load_claims()}
MARGIN_PP = CLAIMS["C08"].threshold.high  # the margin written in the YAML


def _judged(runs: pl.DataFrame, claim: Claim = CLAIMS["C08"], epochs: pl.DataFrame | None = None) -> pl.DataFrame:
    """The claim's rows (each system, then pooled) from accuracy runs alone."""
    evidence = Evidence(pl.DataFrame(), Comparisons(empty_table()), accuracy_runs=runs,
                        accuracy_epochs=epochs if epochs is not None else pl.DataFrame(), n_resamples=N_RES)
    return evaluate_claims([claim], evidence)


def c08_verdict(runs: pl.DataFrame) -> dict:
    return _judged(runs).filter(pl.col("system_id") == "pooled").row(0, named=True)


def _runs(gap_pp: float, *, noise_pp: float = 0.2, seeds: int = 5, models=("cnn", "lstm"),
          frameworks=("torch", "tensorflow"), system: str = "sys1", rng_seed: int = 0) -> pl.DataFrame:
    """Final accuracies per seed: a seed effect shared by both frameworks (same start, same data),
    tensorflow = torch - gap_pp + independent noise."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for model in models:
        for seed in range(seeds):
            base = 0.90 + rng.normal(0, 0.02)
            for fw in frameworks:
                acc = base + (0.0 if fw == "torch" else -gap_pp / 100) + rng.normal(0, noise_pp / 100)
                rows.append({"run_id": f"{system}-{model}-{fw}-{seed}", "system_id": system, "framework": fw,
                             "mode": "eager" if fw == "torch" else "function", "seed": seed, "status": "ok",
                             "final_val_accuracy": acc, "model": model, "size": "tiny",
                             "dataset": "digits" if model == "cnn" else "periodic", "epochs": 4, "batch_size": 32,
                             "lr_schedule": "constant", "base_lr": 0.01, "threads": 2, "device": "cpu"})
    return pl.DataFrame(rows)


def test_equivalent_within_margin_is_supported() -> None:
    row = c08_verdict(_runs(0.0))
    assert row["verdict"] == "supported", row["reason"]
    assert -MARGIN_PP < row["effect_low"] < row["effect"] < row["effect_high"] < MARGIN_PP
    assert row["n_cells"] == 2 and row["n_runs"] == 20 and "paired" in row["ci_method"]


def test_planted_three_point_gap_fails_the_equivalence_test() -> None:
    row = c08_verdict(_runs(3.0))
    assert row["verdict"] == "contradicted", row["reason"]
    assert row["effect"] == pytest.approx(3.0, abs=0.5)
    assert row["effect_low"] > MARGIN_PP


def test_noisy_small_gap_is_inconclusive_never_no_difference() -> None:
    row = c08_verdict(_runs(1.0, noise_pp=3.0, seeds=4))
    assert row["verdict"] == "inconclusive", row["reason"]


def test_fewer_than_four_seeds_give_no_verdict() -> None:
    row = c08_verdict(_runs(0.0, seeds=3))
    assert row["verdict"] == "not testable here" and "fewer than 4 seeds" in row["reason"]


def test_one_framework_only_is_not_testable() -> None:
    row = c08_verdict(_runs(0.0, frameworks=("torch",)))
    assert row["verdict"] == "not testable here" and "both" in row["reason"]
    empty = c08_verdict(_runs(0.0).filter(pl.col("status") == "failed"))
    assert empty["verdict"] == "not testable here"


def test_failed_runs_are_left_out_and_unpaired_seeds_use_welch() -> None:
    runs = _runs(0.0).with_columns(
        pl.when(pl.col("run_id") == "sys1-cnn-torch-0").then(pl.lit("failed")).otherwise("status").alias("status"))
    eq = A.equivalence_table(runs)
    cnn = eq.filter(pl.col("model") == "cnn").row(0, named=True)
    assert cnn["n_torch"] == 4 and cnn["n_tensorflow"] == 5 and "Welch" in cnn["method"]
    lstm = eq.filter(pl.col("model") == "lstm").row(0, named=True)
    assert lstm["n_pairs"] == 5 and "paired" in lstm["method"]


def test_verdict_per_system_and_pooled() -> None:
    runs = pl.concat([_runs(0.0, system="a"), _runs(5.0, system="b", rng_seed=1)])
    table = _judged(runs)
    verdicts = dict(zip(table["system_id"], table["verdict"]))
    assert verdicts["a"] == "supported" and verdicts["b"] == "contradicted"
    assert list(table["system_id"]) == ["a", "b", "pooled"]
    assert set(table.columns) >= {"claim_id", "verdict", "effect", "effect_low", "effect_high", "reason"}


def test_final_accuracy_table_has_bootstrap_cis_per_framework() -> None:
    table = A.final_accuracy_table(_runs(5.0), n_resamples=N_RES)
    assert table.height == 4
    for row in table.iter_rows(named=True):
        assert row["n_runs"] == 5 and row["ci_low"] <= row["median"] <= row["ci_high"]
    cnn = {r["framework"]: r["median"] for r in table.filter(pl.col("model") == "cnn").iter_rows(named=True)}
    assert cnn["torch"] - cnn["tensorflow"] == pytest.approx(0.05, abs=0.01)


def _epochs(runs: pl.DataFrame, seconds_per_epoch: dict[str, float]) -> pl.DataFrame:
    """Accuracy curves rising linearly to each run's final accuracy over 4 epochs."""
    rows = []
    for r in runs.iter_rows(named=True):
        for e in range(1, 5):
            rows.append({"run_id": r["run_id"], "epoch": e, "val_accuracy": r["final_val_accuracy"] * e / 4,
                         "wall_s": seconds_per_epoch[r["framework"]]})
    return pl.DataFrame(rows)


def test_time_to_target_reflects_planted_epoch_times() -> None:
    runs = _runs(0.0, models=("cnn",))
    epochs = _epochs(runs, {"torch": 1.0, "tensorflow": 3.0})
    table = A.time_to_target_table(runs, epochs, target=0.6, n_resamples=N_RES)
    by_fw = {r["framework"]: r for r in table.iter_rows(named=True)}
    # 0.6 / 0.9 of the way: reached in epoch 3 -> 3 s (torch) and 9 s (tensorflow)
    assert by_fw["torch"]["median_s"] == pytest.approx(3.0) and by_fw["tensorflow"]["median_s"] == pytest.approx(9.0)
    assert by_fw["torch"]["n_reached"] == 5 and by_fw["torch"]["median_epochs"] == 3
    never = A.time_to_target_table(runs, epochs, target=0.99, n_resamples=N_RES)
    assert set(never["n_reached"]) == {0} and all(math.isnan(v) for v in never["median_s"])
    default = A.time_to_target_table(runs, epochs, n_resamples=N_RES)
    assert default["target_accuracy"][0] == pytest.approx(
        A.TARGET_FRACTION * min(runs.group_by("framework").agg(pl.col("final_val_accuracy").median())["final_val_accuracy"]))


def test_analyze_accuracy_builds_every_table() -> None:
    runs = _runs(0.0)
    result = A.analyze_accuracy(runs, _epochs(runs, {"torch": 1.0, "tensorflow": 2.0}), n_resamples=N_RES)
    assert set(result.tables()) == {"accuracy_final", "accuracy_equivalence", "accuracy_time_to_target"}
    assert result.accuracy_final.height == 8  # 2 configs x 2 frameworks x (sys1 + pooled)
    assert set(result.accuracy_equivalence["verdict"]) == {"supported"}


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="final_val_accuracy"):
        c08_verdict(_runs(0.0).drop("final_val_accuracy"))


def test_c08_is_judged_per_model_not_pooled() -> None:
    """A 5-point gap on one model is not averaged away by an equal model; opposite gaps depend on the cell."""
    one_gap = pl.concat([_runs(0.0, models=("cnn",)), _runs(5.0, models=("lstm",), rng_seed=3)])
    row = c08_verdict(one_gap)
    assert row["verdict"] == "contradicted" and row["n_cells"] == 2, row["reason"]
    assert row["effect"] == pytest.approx(5.0, abs=0.5) and "lstm" in row["ci_method"]
    opposite = pl.concat([_runs(4.0, models=("cnn",)), _runs(-4.0, models=("lstm",), rng_seed=4)])
    row = c08_verdict(opposite)
    assert row["verdict"] == "depends on the cell", row["reason"]
    assert "above 0: cnn" in row["reason"] and "below 0: lstm" in row["reason"]


def _timed_epochs(runs: pl.DataFrame, seconds_per_epoch: dict[str, float]) -> pl.DataFrame:
    """As _epochs, with 5% lognormal noise on every epoch's wall time."""
    rng = np.random.default_rng(7)
    epochs = _epochs(runs, seconds_per_epoch)
    return epochs.with_columns(pl.col("wall_s") * np.exp(rng.normal(0.0, 0.05, epochs.height)))


@pytest.mark.parametrize(("tf_seconds", "verdict"), [(1.0, "supported"), (3.0, "contradicted")])
def test_time_to_accuracy_claim_c14_per_model(tf_seconds: float, verdict: str) -> None:
    """C14: equal epoch times are comparable within +-10%; TensorFlow 3x slower per epoch is not."""
    runs = _runs(0.0)
    rows = _judged(runs, CLAIMS["C14"], _timed_epochs(runs, {"torch": 1.0, "tensorflow": tf_seconds}))
    row = rows.filter(pl.col("system_id") == "pooled").row(0, named=True)
    assert row["verdict"] == verdict, row["reason"]
    assert row["effect"] == pytest.approx(1.0 / tf_seconds, rel=0.1) and row["n_cells"] == 2
    assert "target" in row["reason"] and row["effect_low"] <= row["effect"] <= row["effect_high"]


def test_rerun_agreement_counts_bit_identical_reruns() -> None:
    """Each framework/seed run twice (two campaigns): all identical, until one rerun moves by 1e-9."""
    first = _runs(0.0).with_columns(pl.lit("k1").alias("campaign_id"))
    second = first.with_columns(pl.lit("k2").alias("campaign_id"), pl.col("run_id") + "-again")
    assert A.rerun_agreement(pl.concat([first, second])) == (20, 20)
    nudged = second.with_columns(pl.when(pl.col("run_id") == "sys1-cnn-torch-0-again")
                                 .then(pl.col("final_val_accuracy") + 1e-9).otherwise("final_val_accuracy")
                                 .alias("final_val_accuracy"))
    assert A.rerun_agreement(pl.concat([first, nudged])) == (19, 20)
    assert A.rerun_agreement(first) == (0, 0)  # one campaign: nothing to compare
