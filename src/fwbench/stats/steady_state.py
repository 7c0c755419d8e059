"""Where warm-up ends inside a run's measured steps, and the run's statistic.

Steps within a run are not independent and the first measured steps may still be warming up
(allocator, caches, autotuning), so the run statistic is the median of the *detected* steady
state, not of every step. Rule (documented in the paper):

1. Isolated slow steps are not level changes: a step more than 5 sigma from the median of the 5
   steps around it is replaced by that median before change-point detection (a Hampel filter;
   a shift lasting 3 or more steps moves the local median and stays). sigma is the robust noise
   scale (MAD of first differences / sqrt 2, which level shifts barely move).
2. Change points on the despiked log(step ms) by PELT (ruptures, l2 cost, min segment 5 steps)
   with penalty ``beta * s^2 * ln(n)``, s the SD of the despiked first differences / sqrt 2 (the
   MAD is too often low on 20 steps, which let noise pass for levels), beta = 4.
3. Warm-up ends at the first change point after which every remaining segment's median is within
   ``level_tol`` (5%) of the median of all remaining steps, or within LEVEL_Z (3) standard errors
   of a median where the noise within the segments makes a short segment's median that uncertain:
   levels the noise cannot tell apart are merged, a decaying transient is cut off.
4. The run is not stationary when fewer than ``min_steady`` (10) steps or fewer than
   ``min_fraction`` (half) of the measured steps remain (the warm-up did not clearly end: a run
   that drifts throughout ends here), or the remaining steps drift: the Theil-Sen slope changes the
   level by more than ``drift_tol`` (10%) and its 95% CI excludes a change of half that.
5. A non-stationary run stays in the primary analysis, flagged (``stationary`` False): its statistic
   falls back to the median of all its measured (post-warm-up) steps. Dropping such runs was
   selective: drift correlates with speed (on an AVX2 host it removed the two fastest runs of a
   cell), so exclusion is only a sensitivity variant (fwbench.stats.sensitivity). Runs are excluded
   only when they have nothing to summarise: fewer than ``min_steady`` measured steps, or none finite.

On stationary synthetic runs (8% lognormal step noise, 1% of steps 3x slower) this excludes < 1%
of 20- and 50-step runs (the rule before steps 1-3 and the half-tolerance CI excluded 6-10%);
late level shifts and strong drifts are still excluded (tests/test_stats_steady_state.py).
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
SPIKE_HALF_WIDTH = 2
SPIKE_K = 5.0
LEVEL_Z = 3.0
MEDIAN_SE = math.sqrt(math.pi / 2)  # standard error of a median = this * sigma / sqrt(n), for normal noise
SPIKE_K = 5.0


@dataclass(frozen=True)
class SteadyState:
    """Steady-state verdict of one run's measured steps.

    ``ok`` False: excluded (nothing to summarise), see ``reason``. ``stationary`` False: used with the
    all-steps fallback statistic, ``reason`` says why it is flagged. ``stat_start`` is the first measured
    step the run's statistic ``steady_median_ms`` reads (the detected start, or 0 for the fallback).
    """

    ok: bool
    stationary: bool | None
    reason: str | None
    n_measured: int
    steady_start: int | None
    stat_start: int | None
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


def despike(log_ms: np.ndarray, sigma: float, half_width: int = SPIKE_HALF_WIDTH, k: float = SPIKE_K) -> np.ndarray:
    """Isolated spikes replaced by their local median (a Hampel filter), so they cannot pose as level changes.

    A step more than k*sigma from the median of the 2*half_width+1 steps around it is a spike; a shift
    that lasts more than half_width steps moves the local median with it and stays.
    """
    n = len(log_ms)
    if n < 2 * half_width + 1 or sigma == 0.0:
        return log_ms
    padded = np.pad(log_ms, half_width, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width + 1)
    local = np.median(windows, axis=1)
    return np.where(np.abs(log_ms - local) > k * sigma, local, log_ms)


def change_points(log_ms: np.ndarray, beta: float = PENALTY_BETA, min_size: int = MIN_SEGMENT) -> list[int]:
    """Start indices of segments after the first (PELT, l2 cost, penalty beta*sigma^2*ln n), after despiking."""
    import ruptures as rpt

    n = len(log_ms)
    sigma = noise_scale(log_ms)
    if n < 2 * min_size or sigma == 0.0:
        return []
    log_ms = despike(log_ms, sigma)
    # the penalty's noise scale: SD of the despiked differences (the MAD above is too noisy on 20 steps
    # and too often low, which lets PELT cut noise into levels)
    sigma = float(np.std(np.diff(log_ms), ddof=1) / math.sqrt(2))
    centred = log_ms - np.median(log_ms)  # cumsums of centred values keep the l2 cost accurate
    algo = rpt.Pelt(custom_cost=_l2_cost(), min_size=min_size, jump=1).fit(centred.reshape(-1, 1))
    bkps = algo.predict(pen=beta * sigma**2 * math.log(n))
    return [b for b in bkps if b < n]


def within_segment_sd(log_ms: np.ndarray, spans: list[tuple[int, int]]) -> float:
    """Robust SD of the noise around each segment's own median (level differences between segments excluded)."""
    residuals = np.concatenate([log_ms[a:b] - np.median(log_ms[a:b]) for a, b in spans])
    return 1.4826 * float(np.median(np.abs(residuals)))


def steady_start(ms: np.ndarray, cps: list[int], level_tol: float = LEVEL_TOL) -> int:
    """First candidate start after which all segment medians sit within tolerance of the remainder.

    The tolerance is level_tol, widened to LEVEL_Z standard errors of a segment's median where the
    noise within the remainder's segments makes a short segment's median that uncertain: levels
    that the noise cannot tell apart are merged, not cut off.
    """
    bounds = [0, *cps, len(ms)]
    for i, start in enumerate(bounds[:-1]):
        rest = np.median(ms[start:])
        spans = list(zip(bounds[i:-1], bounds[i + 1:]))
        sigma = within_segment_sd(np.log(ms), spans)
        if all(abs(np.median(ms[a:b]) / rest - 1.0) <= max(level_tol, LEVEL_Z * MEDIAN_SE * sigma / math.sqrt(b - a))
               for a, b in spans):
            return start
    return bounds[-2]


def drift(ms: np.ndarray) -> tuple[float, float, float]:
    """Relative level change across the series by Theil-Sen, with its 95% CI (change, low, high)."""
    from scipy.stats import theilslopes

    if len(ms) < 3:
        return 0.0, 0.0, 0.0
    res = theilslopes(ms, np.arange(len(ms)), alpha=0.95)
    scale = (len(ms) - 1) / np.median(ms)
    return float(res.slope * scale), float(res.low_slope * scale), float(res.high_slope * scale)


def drifts(change: float, low: float, high: float, drift_tol: float = DRIFT_TOL) -> bool:
    """A drift that matters: the change exceeds drift_tol and its CI excludes a change of half that size.

    (A CI that merely excludes 0 flags ~4% of stationary 20-step runs at 8% step noise; excluding
    half the tolerance flags < 0.5% of them and still catches ~90% of +30% drifts.)
    """
    return abs(change) > drift_tol and (low > drift_tol / 2 or high < -drift_tol / 2)


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
        return SteadyState(False, None, "no measured steps", 0, None, None, 0, None, None, None, 0)
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        return SteadyState(False, None, "non-finite or non-positive step times", n, None, None, 0, None, None, None, 0)
    all_med = float(np.median(x))
    if n < min_steady:
        return SteadyState(False, None, f"too few measured steps ({n} < {min_steady})", n, None, None, 0, None,
                           all_med, None, 0)
    cps = change_points(np.log(x), beta)
    start = steady_start(x, cps, level_tol)
    steady = x[start:]
    change, low, high = drift(steady)
    base = dict(n_measured=n, steady_start=start, n_steady=len(steady), all_median_ms=all_med,
                drift_pct=100 * change, n_change_points=len(cps))
    needed = max(min_steady, math.ceil(min_fraction * n))
    fallback = dict(ok=True, stationary=False, stat_start=0, steady_median_ms=all_med, **base)
    if len(steady) < needed:
        return SteadyState(reason=f"no steady state: only {len(steady)} of {n} steps after the last level "
                                  f"change (< {needed})", **fallback)
    if drifts(change, low, high, drift_tol):
        return SteadyState(reason=f"drift: steady part changes by {100 * change:+.1f}% "
                                  f"(> {100 * drift_tol:.0f}%)", **fallback)
    return SteadyState(True, True, None, stat_start=start, steady_median_ms=float(np.median(steady)), **base)
