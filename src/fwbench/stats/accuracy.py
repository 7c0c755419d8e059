"""Accuracy-track analysis (claim C08): final accuracy per framework, equivalence, time to target.

Inputs are the dataset's `accuracy_runs` (one row per run) and `accuracy_epochs` (one row per
run and epoch) tables. A *configuration* is everything but the framework, its mode and the seed
(CONFIG_FIELDS); runs of the two frameworks with the same configuration, system and seed start
from identical weights and see identical data, so they are compared as pairs.

- final_accuracy_table: per configuration and framework, the median final validation accuracy
  over seeds with its bootstrap 95% CI (fwbench.stats.bootstrap.median_ci), mean and SD.
- equivalence: difference torch - tensorflow of final accuracy in percentage points, mean over
  seed pairs (paired t; Welch when seeds do not pair up) with its 95% CI, and the TOST p-value
  for |difference| < MARGIN_PP (1 percentage point).
- time_to_target: per run, the training wall time (sum of epoch wall_s, evaluation excluded) and
  the epochs until validation accuracy first reaches the target; per configuration and framework
  the median with a bootstrap 95% CI over the runs that reached it, and how many did. The target
  is TARGET_FRACTION of the lower of the two frameworks' median final accuracies, unless given.
- c08_verdict: the verdict row, in the claims table's columns (fwbench.stats.claims), judged per
  configuration (model), never pooled across models: supported if every configuration's 95% CI
  lies inside (-margin, +margin), depends on the cell if they differ in opposite directions,
  contradicted if one lies entirely outside, else "inconclusive"; "not testable here" without >= 2
  pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from fwbench.stats.bootstrap import CONFIDENCE, N_RESAMPLES, SEED, median_ci

MARGIN_PP = 1.0
TARGET_FRACTION = 0.95
MIN_PAIRS = 2
CONFIG_FIELDS: tuple[str, ...] = ("model", "size", "dataset", "epochs", "batch_size", "lr_schedule", "base_lr",
                                  "threads", "device")
RUN_COLUMNS: tuple[str, ...] = ("run_id", "system_id", "framework", "mode", "seed", "status",
                                "final_val_accuracy") + CONFIG_FIELDS
EPOCH_COLUMNS: tuple[str, ...] = ("run_id", "epoch", "val_accuracy", "wall_s")
FRAMEWORK_A, FRAMEWORK_B = "torch", "tensorflow"
C08_TEXT = ("At equal architecture and hyperparameters both frameworks reach about the same accuracy; "
            "reported gaps (CIFAR-10 80% vs 72%) come from hyperparameters, not the framework")


def _check(df: pl.DataFrame, required: tuple[str, ...], name: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks column(s) {', '.join(missing)}; needs {', '.join(required)}")


def ok_runs(runs: pl.DataFrame, scope: str = "pooled") -> pl.DataFrame:
    """Finished runs (status ok, a final accuracy) of one system_id, or of every system ('pooled')."""
    _check(runs, RUN_COLUMNS, "accuracy_runs")
    out = runs.filter((pl.col("status") == "ok") & pl.col("final_val_accuracy").is_not_null())
    return out if scope == "pooled" else out.filter(pl.col("system_id") == scope)


def config_label(row: dict[str, Any]) -> str:
    return (f"{row['model']}-{row['size']} {row['dataset']} {row['epochs']} ep, batch {row['batch_size']}, "
            f"{row['lr_schedule']} lr {row['base_lr']:g}, {row['threads']} thr {row['device']}")


def final_accuracy_table(runs: pl.DataFrame, *, scope: str = "pooled", seed: int = SEED,
                         n_resamples: int = N_RESAMPLES) -> pl.DataFrame:
    """Per configuration and framework: n runs, median final accuracy [95% bootstrap CI], mean, SD."""
    rows = []
    for key, group in ok_runs(runs, scope).group_by([*CONFIG_FIELDS, "framework"], maintain_order=True):
        values = group["final_val_accuracy"].to_numpy().astype(float)
        ci = median_ci(values, seed=seed, n_resamples=n_resamples)
        fields = dict(zip([*CONFIG_FIELDS, "framework"], key))
        rows.append({"system_id": scope, "config": config_label(fields), **fields,
                     "modes": ",".join(sorted(set(group["mode"].to_list()))), "n_runs": len(values),
                     "median": ci.estimate, "ci_low": ci.low, "ci_high": ci.high, "ci_method": ci.method,
                     "mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else math.nan})
    return pl.DataFrame(rows) if rows else pl.DataFrame()


@dataclass(frozen=True)
class Equivalence:
    """Difference A - B of final accuracy in percentage points, its 95% CI, and TOST against the margin."""

    estimate_pp: float
    low_pp: float
    high_pp: float
    p_tost: float
    n_a: int
    n_b: int
    n_pairs: int
    method: str
    margin_pp: float

    @property
    def verdict(self) -> str:
        if min(self.n_a, self.n_b) < MIN_PAIRS or math.isnan(self.low_pp):
            return "not testable here"
        if -self.margin_pp < self.low_pp and self.high_pp < self.margin_pp:
            return "supported"
        if self.low_pp >= self.margin_pp or self.high_pp <= -self.margin_pp:
            return "contradicted"
        return "inconclusive"


def equivalence(a: np.ndarray, b: np.ndarray, *, paired: bool, margin_pp: float = MARGIN_PP,
                confidence: float = CONFIDENCE) -> Equivalence:
    """Mean difference a - b (accuracies as fractions; result in percentage points): paired t when
    `paired` (a[i], b[i] share a seed), else Welch; TOST p-value for |difference| < margin_pp."""
    from scipy.stats import t as t_dist

    a, b = 100.0 * np.asarray(a, float), 100.0 * np.asarray(b, float)
    if paired:
        d = a - b
        n = len(d)
        est = float(d.mean()) if n else math.nan
        se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        df = n - 1
        method = f"paired t over {n} seed pairs"
    else:
        n = 0
        est = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
        va = a.var(ddof=1) / len(a) if len(a) > 1 else math.nan
        vb = b.var(ddof=1) / len(b) if len(b) > 1 else math.nan
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else 1
        method = f"Welch t, {len(a)} vs {len(b)} runs (seeds not paired)"
    if math.isnan(se):
        return Equivalence(est, math.nan, math.nan, math.nan, len(a), len(b), n, method, margin_pp)
    if se == 0:  # identical differences: the interval is the point
        p = 0.0 if abs(est) < margin_pp else 1.0
        return Equivalence(est, est, est, p, len(a), len(b), n, method, margin_pp)
    half = float(t_dist.ppf(0.5 + confidence / 2, df)) * se
    p_low = float(t_dist.sf((est + margin_pp) / se, df))    # H0: diff <= -margin
    p_high = float(t_dist.cdf((est - margin_pp) / se, df))  # H0: diff >= +margin
    return Equivalence(est, est - half, est + half, max(p_low, p_high), len(a), len(b), n, method, margin_pp)


def _pairs(runs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, bool]:
    """Final accuracies of A and B; paired by (system, configuration, seed) when every run pairs up."""
    keys = ["system_id", *CONFIG_FIELDS, "seed"]
    # one value per key and framework (repetitions of one seed: their mean)
    per = runs.group_by([*keys, "framework"]).agg(pl.col("final_val_accuracy").mean())
    a = per.filter(pl.col("framework") == FRAMEWORK_A).drop("framework")
    b = per.filter(pl.col("framework") == FRAMEWORK_B).drop("framework")
    joined = a.join(b, on=keys, how="inner", suffix="_b", nulls_equal=True).sort(keys)
    if joined.height >= MIN_PAIRS and joined.height == a.height == b.height:
        return joined["final_val_accuracy"].to_numpy(), joined["final_val_accuracy_b"].to_numpy(), True
    return a["final_val_accuracy"].to_numpy(), b["final_val_accuracy"].to_numpy(), False


def equivalence_table(runs: pl.DataFrame, *, scope: str = "pooled", margin_pp: float = MARGIN_PP) -> pl.DataFrame:
    """One row per configuration measured in both frameworks: difference torch - tensorflow and verdict."""
    rows = []
    done = ok_runs(runs, scope)
    for key, group in done.group_by(list(CONFIG_FIELDS), maintain_order=True):
        a, b, paired = _pairs(group)
        if not len(a) or not len(b):
            continue
        eq = equivalence(a, b, paired=paired, margin_pp=margin_pp)
        fields = dict(zip(CONFIG_FIELDS, key))
        rows.append({"system_id": scope, "config": config_label(fields), **fields, **_eq_columns(eq)})
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def _eq_columns(eq: Equivalence) -> dict[str, Any]:
    return {"diff_pp": eq.estimate_pp, "diff_low_pp": eq.low_pp, "diff_high_pp": eq.high_pp,
            "margin_pp": eq.margin_pp, "p_tost": eq.p_tost, "n_torch": eq.n_a, "n_tensorflow": eq.n_b,
            "n_pairs": eq.n_pairs, "method": eq.method, "verdict": eq.verdict}


def run_time_to_target(runs: pl.DataFrame, epochs: pl.DataFrame, target: float) -> pl.DataFrame:
    """Per run: training seconds and epochs until val_accuracy >= target (null if never reached)."""
    _check(epochs, EPOCH_COLUMNS, "accuracy_epochs")
    ids = runs.select("run_id")
    curve = (epochs.join(ids, on="run_id").sort(["run_id", "epoch"])
             .with_columns(pl.col("wall_s").cum_sum().over("run_id").alias("elapsed_s")))
    hit = (curve.filter(pl.col("val_accuracy") >= target).group_by("run_id")
           .agg(pl.col("epoch").min().alias("epochs_to_target"), pl.col("elapsed_s").min().alias("seconds_to_target")))
    return runs.select("run_id", "framework", *CONFIG_FIELDS).join(hit, on="run_id", how="left")


def time_to_target_table(runs: pl.DataFrame, epochs: pl.DataFrame, *, scope: str = "pooled",
                         target: float | None = None, seed: int = SEED, n_resamples: int = N_RESAMPLES) -> pl.DataFrame:
    """Per configuration and framework: median seconds (and epochs) to the target accuracy, bootstrap
    95% CI over runs that reached it, and n reached / n runs."""
    done = ok_runs(runs, scope)
    rows = []
    for key, group in done.group_by(list(CONFIG_FIELDS), maintain_order=True):
        medians = group.group_by("framework").agg(pl.col("final_val_accuracy").median())
        goal = target if target is not None else TARGET_FRACTION * float(medians["final_val_accuracy"].min())
        per_run = run_time_to_target(group, epochs, goal)
        fields = dict(zip(CONFIG_FIELDS, key))
        for framework, fgroup in per_run.group_by("framework", maintain_order=True):
            reached = fgroup.filter(pl.col("seconds_to_target").is_not_null())
            ci = median_ci(reached["seconds_to_target"].to_numpy().astype(float), seed=seed, n_resamples=n_resamples)
            ep = reached["epochs_to_target"]
            rows.append({"system_id": scope, "config": config_label(fields), **fields, "framework": framework[0],
                         "target_accuracy": goal, "n_runs": fgroup.height, "n_reached": reached.height,
                         "median_s": ci.estimate, "ci_low_s": ci.low, "ci_high_s": ci.high, "ci_method": ci.method,
                         "median_epochs": float(ep.median()) if reached.height else math.nan})
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def c08_verdict(runs: pl.DataFrame, *, scope: str = "pooled", margin_pp: float = MARGIN_PP) -> dict[str, Any]:
    """The C08 verdict row (columns of the claims table) from accuracy_runs, for one scope.

    Judged per configuration (model), never pooled across models: each configuration measured in
    both frameworks gets the mean difference torch - tensorflow of final validation accuracy (pp)
    over its seed pairs, with a 95% CI. Supported when every configuration's CI lies inside the
    margin; depends on the cell when configurations differ in opposite directions (CIs entirely
    above and entirely below 0); contradicted when one lies entirely outside the margin; else
    inconclusive. The row's effect is the configuration furthest from equality; the reason lists all.
    """
    row: dict[str, Any] = {
        "claim_id": "C08", "claim": C08_TEXT, "source": "001",
        "tests": "accuracy track, final accuracy over seeds, equivalence test per model", "system_id": scope,
        "metric": "accuracy", "ratio_definition": "final validation accuracy torch - tensorflow (percentage points), "
                                                  "per configuration; effect = the one furthest from 0",
        "n_cells": 0, "cells": None, "n_runs": 0, "effect": math.nan, "effect_low": math.nan,
        "effect_high": math.nan, "ci_method": None, "threshold": f"equivalent within +-{margin_pp:g} pp",
        "verdict": "not testable here", "reason": None,
        "note": f"paired by seed (identical initial weights and data order); margin {margin_pp:g} percentage point(s)",
    }
    where = "in the dataset" if scope == "pooled" else f"from system {scope}"
    done = ok_runs(runs, scope) if runs.height else runs
    if done.height == 0:
        return {**row, "reason": f"no finished accuracy runs {where}"}
    judged: list[tuple[str, Equivalence]] = []
    for key, group in done.group_by(list(CONFIG_FIELDS), maintain_order=True):
        a, b, paired = _pairs(group)
        if len(a) and len(b):
            judged.append((config_label(dict(zip(CONFIG_FIELDS, key))),
                           equivalence(a, b, paired=paired, margin_pp=margin_pp)))
    if not judged:
        return {**row, "n_runs": done.height,
                "reason": f"no configuration {where} has finished runs in both torch and tensorflow"}
    configs = ";".join(label for label, _ in judged)
    testable = [(label, eq) for label, eq in judged if eq.verdict != "not testable here"]
    if not testable:
        return {**row, "n_cells": len(judged), "n_runs": done.height, "cells": configs,
                "reason": f"fewer than {MIN_PAIRS} runs per framework in every configuration {where}"}
    verdicts = [eq.verdict for _, eq in testable]
    above = [label for label, eq in testable if eq.low_pp > 0]
    below = [label for label, eq in testable if eq.high_pp < 0]
    if above and below:
        verdict = "depends on the cell"
    elif "contradicted" in verdicts:
        verdict = "contradicted"
    elif all(v == "supported" for v in verdicts) and len(testable) == len(judged):
        verdict = "supported"
    else:
        verdict = "inconclusive"
    label, worst = max(testable, key=lambda item: abs(item[1].estimate_pp))
    parts = [f"{lab}: {eq.estimate_pp:+.2f} pp [{eq.low_pp:+.2f}, {eq.high_pp:+.2f}] {eq.verdict} ({eq.method}, "
             f"TOST p = {eq.p_tost:.3g})" for lab, eq in judged]
    reason = (f"torch - tensorflow final accuracy per configuration, margin +-{margin_pp:g} pp: " + "; ".join(parts)
              + (f"; above 0: {', '.join(above)}; below 0: {', '.join(below)}" if verdict == "depends on the cell"
                 else ""))
    return {**row, "n_cells": len(judged), "n_runs": done.height, "cells": configs,
            "effect": worst.estimate_pp, "effect_low": worst.low_pp, "effect_high": worst.high_pp,
            "ci_method": f"{worst.method} ({label})", "verdict": verdict, "reason": reason}


def c08_verdicts(runs: pl.DataFrame, *, margin_pp: float = MARGIN_PP) -> pl.DataFrame:
    """c08_verdict for every system_id, then pooled (the claims table's scope order)."""
    systems = sorted(set(runs["system_id"].to_list())) if runs.height else []
    scopes = systems + ["pooled"]
    return pl.DataFrame([c08_verdict(runs, scope=s, margin_pp=margin_pp) for s in scopes], infer_schema_length=None)


@dataclass
class AccuracyAnalysis:
    """The accuracy tables `fwbench analyze` can write (once hooked in)."""

    accuracy_final: pl.DataFrame
    accuracy_equivalence: pl.DataFrame
    accuracy_time_to_target: pl.DataFrame
    c08: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        return {"accuracy_final": self.accuracy_final, "accuracy_equivalence": self.accuracy_equivalence,
                "accuracy_time_to_target": self.accuracy_time_to_target}


def analyze_accuracy(runs: pl.DataFrame, epochs: pl.DataFrame, *, margin_pp: float = MARGIN_PP,
                     seed: int = SEED, n_resamples: int = N_RESAMPLES) -> AccuracyAnalysis:
    """Every accuracy table, per system_id and pooled."""
    scopes = (sorted(set(runs["system_id"].to_list())) if runs.height else []) + ["pooled"]

    def stack(frames: list[pl.DataFrame]) -> pl.DataFrame:
        frames = [f for f in frames if f.height]
        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()

    return AccuracyAnalysis(
        accuracy_final=stack([final_accuracy_table(runs, scope=s, seed=seed, n_resamples=n_resamples) for s in scopes]),
        accuracy_equivalence=stack([equivalence_table(runs, scope=s, margin_pp=margin_pp) for s in scopes]),
        accuracy_time_to_target=stack([time_to_target_table(runs, epochs, scope=s, seed=seed, n_resamples=n_resamples)
                                       for s in scopes]),
        c08=c08_verdicts(runs, margin_pp=margin_pp),
    )
