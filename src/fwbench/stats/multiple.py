"""Multiple comparisons: Benjamini-Hochberg false discovery rate across a family of tests."""

from __future__ import annotations

import numpy as np


def bh_adjust(p_values: np.ndarray | list[float]) -> np.ndarray:
    """BH-adjusted p-values (scipy.stats.false_discovery_control); NaN p-values stay NaN, not counted."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = false_discovery_control(p[finite], method="bh")
    return out
