"""Bootstrap confidence intervals: one-sample CIs across runs, and ratio CIs between two cells.

Process runs are the unit of replication. A one-sample CI uses scipy.stats.bootstrap (BCa when
it applies; the percentile method for fewer than BCA_MIN_N runs or when BCa is degenerate); the
method used is returned so it can be stated beside every interval. Ratio CIs are vectorised numpy
resampling with a fixed seed: for step time a hierarchical bootstrap (resample runs, then steps
within each resampled run, re-deriving each run's median), for per-run metrics (memory,
first step) an independent two-sample bootstrap of runs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from fwbench.constants import BOOTSTRAP_RESAMPLES as N_RESAMPLES
from fwbench.constants import BOOTSTRAP_SEED as SEED

CONFIDENCE = 0.95
BCA_MIN_N = 6
HIERARCHICAL = "hierarchical percentile (runs, then steps within runs)"
TWO_SAMPLE = "two-sample percentile (runs)"
CAMPAIGN_LEVEL = "three-level percentile (campaigns, then runs, then steps within runs)"
#: Campaigns from which a bootstrap resamples campaigns first; with fewer, each campaign is judged on its own.
CAMPAIGN_LEVEL_MIN = 5
#: The statistic that summarises steps within a run and runs within a cell: the median (primary), or the
#: mean after cutting TRIM of the values at each end (a sensitivity reading, fwbench.stats.sensitivity).
STATISTICS: tuple[str, ...] = ("median", "trimmed mean")
TRIM = 0.1
# Work arrays of the hierarchical bootstrap are built in chunks of at most this many values.
_CHUNK_VALUES = 4_000_000


@dataclass(frozen=True)
class CI:
    """A point estimate with a confidence interval and the method that produced it."""

    estimate: float
    low: float
    high: float
    method: str
    n: int


def _nan_ci(estimate: float, method: str, n: int) -> CI:
    return CI(estimate, math.nan, math.nan, method, n)


def median_ci(values: Sequence[float] | np.ndarray, *, confidence: float = CONFIDENCE,
              n_resamples: int = N_RESAMPLES, seed: int = SEED) -> CI:
    """Median of per-run values with a bootstrap CI (BCa if n >= BCA_MIN_N and not degenerate)."""
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return _nan_ci(math.nan, "none (no runs)", 0)
    est = float(np.median(x))
    if n == 1:
        return _nan_ci(est, "none (1 run)", 1)
    if np.all(x == x[0]):
        return CI(est, est, est, "degenerate (all runs equal)", n)
    methods = ["BCa", "percentile"] if n >= BCA_MIN_N else ["percentile"]
    for method in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns on degenerate BCa; we fall back below
            res = bootstrap((x,), np.median, n_resamples=n_resamples, confidence_level=confidence,
                            method=method, vectorized=True, rng=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if np.isfinite(low) and np.isfinite(high):
            return CI(est, low, high, method, n)
    return _nan_ci(est, "none (bootstrap degenerate)", n)


def _pad(runs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Runs of unequal length as a (R, Lmax) array plus lengths."""
    lengths = np.array([len(r) for r in runs], dtype=np.int64)
    out = np.full((len(runs), int(lengths.max())), np.nan)
    for i, r in enumerate(runs):
        out[i, : len(r)] = r
    return out, lengths


def center(values: np.ndarray, axis: int = -1, statistic: str = "median") -> np.ndarray:
    """The median, or the TRIM-trimmed mean (scipy.stats.trim_mean), along an axis."""
    if statistic == "median":
        return np.median(values, axis=axis)
    if statistic == "trimmed mean":
        from scipy.stats import trim_mean

        return trim_mean(values, TRIM, axis=axis)
    raise ValueError(f"statistic {statistic!r}; allowed: {', '.join(STATISTICS)}")


def hierarchical_medians(runs: Sequence[np.ndarray], n_resamples: int, rng: np.random.Generator,
                         statistic: str = "median") -> np.ndarray:
    """Bootstrap replicates of the median of run medians (or of trimmed means of trimmed means):
    resample runs, then steps within runs."""
    values, lengths = _pad([np.asarray(r, dtype=float) for r in runs])
    n_runs, max_len = values.shape
    per_rep = n_runs * max_len
    chunk = max(1, _CHUNK_VALUES // max(per_rep, 1))
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        run_idx = rng.integers(0, n_runs, size=(b, n_runs))
        lens = lengths[run_idx]                                            # (b, R)
        step_idx = np.floor(rng.random((b, n_runs, max_len)) * lens[..., None]).astype(np.int64)
        drawn = values[run_idx[..., None], step_idx]                        # (b, R, Lmax)
        per_run = _masked_center(drawn, lens, max_len, statistic)
        out[start:start + b] = center(per_run, axis=1, statistic=statistic)
    return out


def _masked_center(drawn: np.ndarray, lens: np.ndarray, max_len: int, statistic: str) -> np.ndarray:
    """The statistic over the last axis of the first `lens` entries (faster than NaN masks + nanmedian)."""
    if np.all(lens == max_len):
        return center(drawn, statistic=statistic)
    mask = np.arange(max_len) < lens[..., None]
    ordered = np.sort(np.where(mask, drawn, np.inf), axis=-1)  # padding sorts last
    if statistic == "median":
        lo = np.take_along_axis(ordered, ((lens - 1) // 2)[..., None], axis=-1)[..., 0]
        hi = np.take_along_axis(ordered, (lens // 2)[..., None], axis=-1)[..., 0]
        return (lo + hi) / 2
    cut = np.floor(TRIM * lens).astype(np.int64)  # as scipy.stats.trim_mean: int(TRIM * n) from each end
    sums = np.concatenate([np.zeros((*ordered.shape[:-1], 1)), np.cumsum(np.where(mask, ordered, 0.0), axis=-1)],
                          axis=-1)
    upper = np.take_along_axis(sums, (lens - cut)[..., None], axis=-1)
    kept = upper - np.take_along_axis(sums, cut[..., None], axis=-1)
    return kept[..., 0] / (lens - 2 * cut)


def run_medians(runs: Sequence[np.ndarray], n_resamples: int, rng: np.random.Generator,
                statistic: str = "median") -> np.ndarray:
    """Bootstrap replicates of the median (or trimmed mean) of per-run values (one value per run)."""
    x = np.asarray(runs, dtype=float)
    idx = rng.integers(0, len(x), size=(n_resamples, len(x)))
    return center(x[idx], axis=1, statistic=statistic)


def campaign_medians(campaigns: Sequence[Sequence[np.ndarray]] | Sequence[np.ndarray], n_resamples: int,
                     rng: np.random.Generator, *, hierarchical: bool, statistic: str = "median") -> np.ndarray:
    """Bootstrap replicates of the median over runs when campaigns are a level of their own.

    Each replicate resamples campaigns, then runs within each drawn campaign, then (hierarchical)
    steps within each drawn run; with five or more campaigns this is how a pooled interval carries
    the day-to-day variance (fwbench.stats.reproducibility). `campaigns` holds, per campaign, its
    runs' step arrays (hierarchical) or its runs' values. A run's step-level replicate is drawn once
    per replicate, so a run drawn twice in one replicate contributes the same median twice.
    """
    groups = [list(c) for c in campaigns]
    flat = [np.asarray(r, dtype=float) for g in groups for r in g]
    if hierarchical:
        per_run = np.stack([hierarchical_medians([r], n_resamples, rng, statistic) for r in flat])  # (runs, B)
    else:
        per_run = np.repeat(np.array([float(r) for r in flat])[:, None], n_resamples, axis=1)
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.empty(n_resamples)
    for b in range(n_resamples):
        drawn = rng.integers(0, len(groups), size=len(groups))
        idx = np.concatenate([offsets[c] + rng.integers(0, sizes[c], size=sizes[c]) for c in drawn])
        out[b] = center(per_run[idx, b], statistic=statistic)
    return out


@dataclass(frozen=True)
class RatioCI:
    """Ratio A/B of medians, its CI, and the bootstrap replicates of log(ratio) (for geomeans)."""

    ratio: float
    low: float
    high: float
    method: str
    log_replicates: np.ndarray


def ratio_ci(a: Sequence, b: Sequence, *, hierarchical: bool, confidence: float = CONFIDENCE,
             n_resamples: int = N_RESAMPLES, seed: int = SEED) -> RatioCI:
    """Ratio of medians A/B with a percentile bootstrap CI.

    hierarchical=True: `a`, `b` are sequences of per-run step arrays (steady-state steps); the
    point estimate is median(run medians of A) / median(run medians of B).
    hierarchical=False: `a`, `b` are per-run values (e.g. peak RSS).
    """
    rng = np.random.default_rng(seed)
    if hierarchical:
        point_a = float(np.median([np.median(r) for r in a]))
        point_b = float(np.median([np.median(r) for r in b]))
        rep_a = hierarchical_medians(a, n_resamples, rng)
        rep_b = hierarchical_medians(b, n_resamples, rng)
    else:
        point_a, point_b = float(np.median(a)), float(np.median(b))
        rep_a = run_medians(a, n_resamples, rng)
        rep_b = run_medians(b, n_resamples, rng)
    return ratio_from_medians(point_a, point_b, rep_a, rep_b, HIERARCHICAL if hierarchical else TWO_SAMPLE,
                              confidence)


def ratio_from_medians(point_a: float, point_b: float, rep_a: np.ndarray, rep_b: np.ndarray, method: str,
                       confidence: float = CONFIDENCE) -> RatioCI:
    """Ratio point_a/point_b with the percentile CI of the replicate ratios rep_a/rep_b."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(rep_a) - np.log(rep_b)
    alpha = (1 - confidence) / 2
    low, high = np.exp(np.quantile(logs, [alpha, 1 - alpha]))
    return RatioCI(point_a / point_b, float(low), float(high), method, logs)


def geomean_ci(log_replicates: Sequence[np.ndarray], log_points: Sequence[float], *,
               confidence: float = CONFIDENCE, seed: int = SEED) -> CI:
    """Geometric mean of ratios across cells with a two-stage bootstrap CI.

    Each replicate resamples cells with replacement (cells as a sample of workloads) and takes,
    for each drawn cell, that cell's own bootstrap replicate of log(ratio) (within-cell
    uncertainty). With one cell this reduces to that cell's ratio CI.
    """
    points = np.asarray(log_points, dtype=float)
    k = len(points)
    if k == 0:
        return _nan_ci(math.nan, "none (no cells)", 0)
    reps = np.vstack([np.asarray(r, dtype=float) for r in log_replicates])  # (k, B)
    n_res = reps.shape[1]
    rng = np.random.default_rng(seed)
    cell_idx = rng.integers(0, k, size=(n_res, k))
    draws = reps[cell_idx, np.arange(n_res)[:, None]]
    means = draws.mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.exp(np.quantile(means, [alpha, 1 - alpha]))
    method = "two-stage percentile (cells, then within-cell replicates)" if k > 1 else \
        "single cell: its ratio CI"
    return CI(float(np.exp(points.mean())), float(low), float(high), method, k)
