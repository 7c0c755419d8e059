"""Where warm-up ends inside a run's measured steps, and the run's statistic.

Steps within a run are not independent and the first measured steps may still be warming up
(allocator, caches, autotuning), so the run statistic is the median of the *detected* steady
state, not of every step. Rule (documented in the paper):

1. Change points on log(step ms) by PELT (ruptures, l2 cost, min segment 5 steps) with penalty
   ``beta * sigma^2 * ln(n)``: sigma is the robust noise scale (MAD of first differences / sqrt 2,
   which level shifts barely move), beta = 4 (a BIC-like penalty with a safety factor; on clean
   lognormal series of 30 steps it gives < 0.5% spurious change points that matter).
2. Warm-up ends at the first change point after which every remaining segment's median is within
   ``level_tol`` (5%) of the median of all remaining steps: detectable but practically equal
   levels are merged, a decaying transient is cut off.
3. The run has no steady state (flagged, excluded from step-time statistics, reported) when fewer
   than ``min_steady`` (10) steps or fewer than ``min_fraction`` (half) of the measured steps
   remain (the warm-up did not clearly end: a run that drifts throughout ends here), or the
   remaining steps drift: the Theil-Sen slope changes the level by more than ``drift_tol`` (10%)
   with a 95% slope CI excluding zero.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

PENALTY_BETA = 4.0
MIN_SEGMENT = 5
LEVEL_TOL = 0.05
MIN_STEADY = 10
MIN_FRACTION = 0.5
DRIFT_TOL = 0.10


@dataclass(frozen=True)
class SteadyState:
    """Steady-state verdict of one run's measured steps; ``ok`` False means excluded, see ``reason``."""

    ok: bool
    reason: str | None
    n_measured: int
    steady_start: int | None
    n_steady: int
    steady_median_ms: float | None
    all_median_ms: float | None
    drift_pct: float | None
    n_change_points: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def noise_scale(x: np.ndarray) -> float:
    """Robust standard deviation of the noise: MAD of first differences / sqrt(2)."""
    if len(x) < 3:
        return 0.0
    d = np.diff(x)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def _l2_cost() -> object:
    """ruptures' l2 cost (within-segment sum of squared deviations) in O(1) per segment from cumsums.

    Same values as ruptures.costs.CostL2 (which calls numpy var per segment, O(n^2) Python calls
    per run); PELT itself is unchanged.
    """
    from ruptures.base import BaseCost

    class CostL2Cumsum(BaseCost):
        model = "l2_cumsum"
        min_size = 1

        def fit(self, signal: np.ndarray) -> "CostL2Cumsum":
            self.signal = np.asarray(signal, dtype=float).reshape(len(signal), -1)
            x = self.signal[:, 0]
            self._s1 = np.concatenate([[0.0], np.cumsum(x)])
            self._s2 = np.concatenate([[0.0], np.cumsum(x * x)])
            return self

        def error(self, start: int, end: int) -> float:
            n = end - start
            s1 = self._s1[end] - self._s1[start]
            return float(self._s2[end] - self._s2[start] - s1 * s1 / n)

    return CostL2Cumsum()


def change_points(log_ms: np.ndarray, beta: float = PENALTY_BETA, min_size: int = MIN_SEGMENT) -> list[int]:
    """Start indices of segments after the first (PELT, l2 cost, penalty beta*sigma^2*ln n)."""
    import ruptures as rpt

    n = len(log_ms)
    sigma = noise_scale(log_ms)
    if n < 2 * min_size or sigma == 0.0:
        return []
    centred = log_ms - np.median(log_ms)  # cumsums of centred values keep the l2 cost accurate
    algo = rpt.Pelt(custom_cost=_l2_cost(), min_size=min_size, jump=1).fit(centred.reshape(-1, 1))
    bkps = algo.predict(pen=beta * sigma**2 * math.log(n))
    return [b for b in bkps if b < n]


def steady_start(ms: np.ndarray, cps: list[int], level_tol: float = LEVEL_TOL) -> int:
    """First candidate start after which all segment medians sit within level_tol of the remainder."""
    bounds = [0, *cps, len(ms)]
    for i, start in enumerate(bounds[:-1]):
        rest = np.median(ms[start:])
        segs = [np.median(ms[a:b]) for a, b in zip(bounds[i:-1], bounds[i + 1:])]
        if all(abs(s / rest - 1.0) <= level_tol for s in segs):
            return start
    return bounds[-2]


def drift(ms: np.ndarray) -> tuple[float, bool]:
    """Relative level change across the series by Theil-Sen, and whether its 95% CI excludes 0."""
    from scipy.stats import theilslopes

    if len(ms) < 3:
        return 0.0, False
    res = theilslopes(ms, np.arange(len(ms)), alpha=0.95)
    change = float(res.slope * (len(ms) - 1) / np.median(ms))
    significant = bool(res.low_slope > 0 or res.high_slope < 0)
    return change, significant


def detect_steady_state(
    ms: np.ndarray | list[float],
    *,
    beta: float = PENALTY_BETA,
    level_tol: float = LEVEL_TOL,
    min_steady: int = MIN_STEADY,
    min_fraction: float = MIN_FRACTION,
    drift_tol: float = DRIFT_TOL,
) -> SteadyState:
    """Steady state of one run's measured step times (ms, in order)."""
    x = np.asarray(ms, dtype=float)
    n = len(x)
    if n == 0:
        return SteadyState(False, "no measured steps", 0, None, 0, None, None, None, 0)
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        return SteadyState(False, "non-finite or non-positive step times", n, None, 0, None, None, None, 0)
    all_med = float(np.median(x))
    if n < min_steady:
        return SteadyState(False, f"too few measured steps ({n} < {min_steady})", n, None, 0, None, all_med, None, 0)
    cps = change_points(np.log(x), beta)
    start = steady_start(x, cps, level_tol)
    steady = x[start:]
    change, significant = drift(steady)
    base = dict(n_measured=n, steady_start=start, n_steady=len(steady), all_median_ms=all_med,
                drift_pct=100 * change, n_change_points=len(cps))
    needed = max(min_steady, math.ceil(min_fraction * n))
    if len(steady) < needed:
        return SteadyState(False, f"no steady state: only {len(steady)} of {n} steps after the last level "
                                  f"change (< {needed})", steady_median_ms=None, **base)
    if significant and abs(change) > drift_tol:
        return SteadyState(False, f"drift: steady part changes by {100 * change:+.1f}% "
                                  f"(> {100 * drift_tol:.0f}%)", steady_median_ms=None, **base)
    return SteadyState(True, None, steady_median_ms=float(np.median(steady)), **base)
