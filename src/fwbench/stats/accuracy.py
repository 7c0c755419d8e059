"""Accuracy-track analysis (claims C08, C14): final accuracy per framework, equivalence, time to target.

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
- accuracy_effects / time_to_accuracy_effects: per configuration, the effect torch vs tensorflow
  that the claims code (fwbench.stats.claims) judges against the threshold written in
  analysis/claims.yaml, per configuration (model), never pooled across models (C08, C14).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from fwbench.stats.bootstrap import CONFIDENCE, N_RESAMPLES, SEED, median_ci, ratio_ci

MARGIN_PP = 1.0
TARGET_FRACTION = 0.95
MIN_PAIRS = 2
CONFIG_FIELDS: tuple[str, ...] = ("model", "size", "dataset", "epochs", "batch_size", "lr_schedule", "base_lr",
                                  "threads", "device")
RUN_COLUMNS: tuple[str, ...] = ("run_id", "system_id", "framework", "mode", "seed", "status",
                                "final_val_accuracy") + CONFIG_FIELDS
EPOCH_COLUMNS: tuple[str, ...] = ("run_id", "epoch", "val_accuracy", "wall_s")
FRAMEWORK_A, FRAMEWORK_B = "torch", "tensorflow"


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


def target_accuracy(runs: pl.DataFrame, fraction: float = TARGET_FRACTION) -> float:
    """The time-to-target goal of one configuration: `fraction` of the lower of the frameworks' median
    final accuracies (so both frameworks can reach it)."""
    medians = runs.group_by("framework").agg(pl.col("final_val_accuracy").median())
    return fraction * float(medians["final_val_accuracy"].min())


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
        goal = target if target is not None else target_accuracy(group)
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


def rerun_agreement(runs: pl.DataFrame) -> tuple[int, int]:
    """(identical, groups): of the (system, configuration, framework, seed) groups run in two or more
    campaigns, how many reached bit-identical final accuracies. All identical means each framework
    is deterministic here, so a gap between frameworks at one seed is not run-to-run noise."""
    done = ok_runs(runs)
    if "campaign_id" not in done.columns or not done.height:
        return 0, 0
    groups = (done.group_by(["system_id", *CONFIG_FIELDS, "framework", "seed"])
              .agg(pl.col("campaign_id").n_unique().alias("campaigns"),
                   pl.col("final_val_accuracy").n_unique().alias("values"))
              .filter(pl.col("campaigns") >= 2))
    return groups.filter(pl.col("values") == 1).height, groups.height


@dataclass(frozen=True)
class ConfigEffect:
    """One configuration's effect torch vs tensorflow for an accuracy-track claim (fwbench.stats.claims):
    a difference in percentage points (accuracy) or a ratio (time to accuracy), with its 95% CI."""

    label: str
    estimate: float
    low: float
    high: float
    method: str
    n_torch: int
    n_tensorflow: int
    note: str | None = None


def accuracy_effects(runs: pl.DataFrame, *, scope: str, min_runs: int, paired: bool = True) -> list[ConfigEffect]:
    """Per configuration in both frameworks: final accuracy torch - tensorflow in pp (paired by seed
    where seeds pair up, unless paired=False), with its t interval; no interval with fewer than
    `min_runs` seeds per framework."""
    out = []
    for key, group in ok_runs(runs, scope).group_by(list(CONFIG_FIELDS), maintain_order=True):
        a, b, pairs_up = _pairs(group)
        if not len(a) or not len(b):
            continue
        eq = equivalence(a, b, paired=pairs_up and paired)
        label = config_label(dict(zip(CONFIG_FIELDS, key)))
        if min(len(a), len(b)) < min_runs:
            out.append(ConfigEffect(label, eq.estimate_pp, math.nan, math.nan, eq.method, len(a), len(b),
                                    f"fewer than {min_runs} seeds per framework ({len(a)} vs {len(b)})"))
        else:
            out.append(ConfigEffect(label, eq.estimate_pp, eq.low_pp, eq.high_pp, eq.method, len(a), len(b)))
    return out


def time_to_accuracy_effects(runs: pl.DataFrame, epochs: pl.DataFrame, *, scope: str, min_runs: int,
                             target_fraction: float = TARGET_FRACTION, seed: int = SEED,
                             n_resamples: int = N_RESAMPLES) -> list[ConfigEffect]:
    """Per configuration in both frameworks: median training seconds to the target accuracy
    (target_fraction of the lower median final accuracy, as in time_to_target_table), ratio torch /
    tensorflow with a two-sample bootstrap CI over the runs that reached it; runs that never reach it
    are counted in the note."""
    out = []
    for key, group in ok_runs(runs, scope).group_by(list(CONFIG_FIELDS), maintain_order=True):
        if set(group["framework"].to_list()) != {FRAMEWORK_A, FRAMEWORK_B}:
            continue
        goal = target_accuracy(group, target_fraction)
        per_run = run_time_to_target(group, epochs, goal)
        seconds = {f: per_run.filter((pl.col("framework") == f) & pl.col("seconds_to_target").is_not_null())
                   ["seconds_to_target"].to_numpy().astype(float) for f in (FRAMEWORK_A, FRAMEWORK_B)}
        totals = {f: per_run.filter(pl.col("framework") == f).height for f in (FRAMEWORK_A, FRAMEWORK_B)}
        a, b = seconds[FRAMEWORK_A], seconds[FRAMEWORK_B]
        label = config_label(dict(zip(CONFIG_FIELDS, key)))
        reached = (f"target {goal:.3f} reached by {len(a)}/{totals[FRAMEWORK_A]} torch and "
                   f"{len(b)}/{totals[FRAMEWORK_B]} tensorflow runs")
        if min(len(a), len(b)) < min_runs:
            point = float(np.median(a) / np.median(b)) if len(a) and len(b) else math.nan
            out.append(ConfigEffect(label, point, math.nan, math.nan, "none", len(a), len(b),
                                    f"{reached}: fewer than {min_runs} per framework"))
            continue
        ci = ratio_ci(a, b, hierarchical=False, seed=seed, n_resamples=n_resamples)
        out.append(ConfigEffect(label, ci.ratio, ci.low, ci.high, ci.method, len(a), len(b), reached))
    return out


@dataclass
class AccuracyAnalysis:
    """The accuracy tables `fwbench analyze` writes."""

    accuracy_final: pl.DataFrame
    accuracy_equivalence: pl.DataFrame
    accuracy_time_to_target: pl.DataFrame

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
    )
