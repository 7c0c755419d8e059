"""Pairwise comparisons of cells of one workload that differ in their implementation: framework, Keras
backend, mode, inference runtime (metrics.IMPLEMENTATION_FIELDS), and implementation variant.

Each implementation variant (fwbench.constants.VARIANTS) has its own rows: a variant one framework has
(TF fused_bn) against the other framework's standard cells, one both have (no_onednn) against itself.
An exported runtime is compared with every natively run cell and with the same runtime exported from the other
framework; runtimes are ranked among themselves by fwbench.stats.which_runtime.

Direction: ``ratio = value_A / value_B`` of medians, where A is the earlier side in the
vocabulary order (metrics.implementation_order: torch before tensorflow, jax, keras; eager before compiled
modes; native before exported runtimes). For step time, memory
and first step, ratio > 1 means A is slower / uses more. Throughput is not a separate row: at the
same batch its ratio is the inverse of the step-time ratio. Both medians stay in each row.

Per row: hierarchical (step time) or two-sample (memory, first step) bootstrap CI of the ratio;
Mann-Whitney U on per-run values and P(a run of A is lower than a run of B) (the common-language
effect size; for step time, P(A faster)); Benjamini-Hochberg adjusted p-values with one family per
scope (each system_id and 'pooled'), across all its rows and metrics; TOST equivalence on log
run values within +-margin.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import polars as pl

from fwbench import constants as C
from fwbench.constants import EQUIVALENCE_MARGIN
from fwbench.stats.bootstrap import (CAMPAIGN_LEVEL, CAMPAIGN_LEVEL_MIN, HIERARCHICAL, N_RESAMPLES, SEED, TWO_SAMPLE,
                                     campaign_medians, center, hierarchical_medians, ratio_from_medians, run_medians)
from fwbench.stats.metrics import (CELL_COLUMNS, IMPLEMENTATION_FIELDS, KEY_FIELDS, METRICS, Metric,
                                   implementation_label, implementation_order, in_scope, scopes, with_cell_defaults)
from fwbench.stats.multiple import bh_adjust

ALPHA = 0.05
#: What a comparison row says of each side (framework_a, backend_a, mode_a, runtime_a, cell_id_a, then _b).
SIDE_FIELDS: tuple[str, ...] = (*IMPLEMENTATION_FIELDS, "cell_id")
MIN_RUNS = 4  # usable runs per side before a cell enters a CI, a test or a verdict (a bootstrap of 2 or 3
# run values covers the median far less often than its nominal 95%)


@dataclass
class Comparisons:
    """The comparisons table plus each row's bootstrap replicates of log(ratio) (for geomeans)."""

    table: pl.DataFrame
    log_replicates: dict[str, np.ndarray] = field(default_factory=dict)


def mann_whitney(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """U statistic of A, two-sided p, and P(A < B) + P(A = B)/2 over all run pairs."""
    from scipy.stats import mannwhitneyu

    if len(a) < 1 or len(b) < 1:
        return math.nan, math.nan, math.nan
    res = mannwhitneyu(a, b, alternative="two-sided")
    prob_a_lower = 1.0 - float(res.statistic) / (len(a) * len(b))
    return float(res.statistic), float(res.pvalue), prob_a_lower


def tost(a: np.ndarray, b: np.ndarray, margin: float) -> float:
    """TOST p-value (Welch t on log values) for |log(A/B)| < log(1 + margin)."""
    from scipy.stats import t as t_dist

    if len(a) < 2 or len(b) < 2:
        return math.nan
    la, lb, d = np.log(a), np.log(b), math.log1p(margin)
    va, vb = la.var(ddof=1) / len(la), lb.var(ddof=1) / len(lb)
    diff = la.mean() - lb.mean()
    if va + vb == 0:  # no variance: decide by the observed difference
        return 0.0 if abs(diff) < d else 1.0
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(la) - 1) + vb**2 / (len(lb) - 1))
    p_low = t_dist.sf((diff + d) / se, df)    # H0: diff <= -d
    p_high = t_dist.cdf((diff - d) / se, df)  # H0: diff >= +d
    return float(max(p_low, p_high))


def _stands_in(row: dict, variant: str) -> bool:
    """Whether a cell takes part in the comparisons of implementation `variant`: its own cells, and the
    standard cells of a framework that has no such variant for this model (fused_bn is compared with
    torch's standard model; no_onednn, which both frameworks have, only with itself)."""
    return row["variant"] == variant or (row["variant"] == C.STANDARD_VARIANT
                                         and variant not in C.VARIANTS[row["framework"]][row["model"]])


def _pairable(a: dict, b: dict) -> bool:
    """Runtimes meet the native cells and their own kind (ONNX Runtime from torch vs from TensorFlow); two
    different exported runtimes are which_runtime's question, not a comparison row."""
    return a["runtime"] == b["runtime"] or C.NATIVE_RUNTIME in (a["runtime"], b["runtime"])


def comparison_pairs(cells: pl.DataFrame) -> list[tuple[dict, dict, str]]:
    """(A, B, variant): cell rows sharing every key field but the implementation variant, one pair per two
    implementations of each variant (see _stands_in, _pairable); a pair of two standard cells belongs
    to the standard variant only."""
    base = [k for k in KEY_FIELDS if k != "variant"]
    pairs = []
    for _, group in with_cell_defaults(cells).sort(list(KEY_FIELDS)).group_by(base, maintain_order=True):
        rows = list(group.iter_rows(named=True))
        for variant in sorted({r["variant"] for r in rows}, key=C.ALL_VARIANTS.index):
            members = sorted((r for r in rows if _stands_in(r, variant)), key=implementation_order)
            pairs.extend((a, b, variant) for a, b in combinations(members, 2)
                         if variant in (a["variant"], b["variant"]) and _pairable(a, b))
    return pairs


def _kind(a: dict, b: dict) -> str:
    """What differs between the two sides, the coarsest first."""
    return next((kind for kind in ("framework", "backend", "runtime") if a[kind] != b[kind]), "mode")


def _label(row: dict) -> str:
    return implementation_label(row["framework"], row["mode"], row["backend"], row["runtime"])


def key_seed(seed: int, key: str) -> int:
    return seed ^ zlib.crc32(key.encode())


class CellData:
    """Per-cell run values of one scope, and each cell's bootstrap replicates computed once.

    A cell in several comparisons reuses its replicates, so ratios sharing a cell stay correlated
    as they truly are (this matters for geometric means over comparisons).
    """

    def __init__(self, table: pl.DataFrame, scope: str, steps_by_run: dict[str, np.ndarray],
                 seed: int, n_resamples: int, statistic: str = "median") -> None:
        self.scope, self.steps, self.seed, self.n_resamples = scope, steps_by_run, seed, n_resamples
        self.statistic = statistic
        self.values: dict[tuple[str, str], tuple[list[str], np.ndarray]] = {}
        self.campaigns: dict[tuple[str, str], list[str]] = {}
        for (cid,), group in table.group_by(["cell_id"]):
            for metric in METRICS.values():
                sub = group.filter(pl.col(metric.column).is_not_null())
                self.values[cid, metric.name] = (sub.get_column("run_id").to_list(),
                                                 sub.get_column(metric.column).to_numpy().astype(float))
                self.campaigns[cid, metric.name] = (sub.get_column("campaign_id").to_list()
                                                    if "campaign_id" in sub.columns else [""] * sub.height)
        self._reps: dict[tuple[str, str], np.ndarray] = {}

    def campaign_level(self, cell_id: str, metric: Metric) -> bool:
        """Whether the cell's runs span enough campaigns to resample campaigns first."""
        return len(set(self.campaigns[cell_id, metric.name])) >= CAMPAIGN_LEVEL_MIN

    def method(self, a: str, b: str, metric: Metric) -> str:
        if self.campaign_level(a, metric) and self.campaign_level(b, metric):
            return CAMPAIGN_LEVEL
        return HIERARCHICAL if metric.hierarchical else TWO_SAMPLE

    def replicates(self, cell_id: str, metric: Metric) -> np.ndarray:
        key = (cell_id, metric.name)
        if key not in self._reps:
            ids, values = self.values[key]
            rng = np.random.default_rng(key_seed(self.seed, f"{self.scope}:{metric.name}:{cell_id}"))
            if self.campaign_level(cell_id, metric):
                units = [self.steps[r] for r in ids] if metric.hierarchical else list(values)
                by_campaign: dict[str, list] = {}
                for campaign, unit in zip(self.campaigns[key], units):
                    by_campaign.setdefault(campaign, []).append(unit)
                self._reps[key] = campaign_medians([by_campaign[c] for c in sorted(by_campaign)], self.n_resamples,
                                                   rng, hierarchical=metric.hierarchical, statistic=self.statistic)
            elif metric.hierarchical:
                self._reps[key] = hierarchical_medians([self.steps[r] for r in ids], self.n_resamples, rng,
                                                       self.statistic)
            else:
                self._reps[key] = run_medians(values, self.n_resamples, rng, self.statistic)
        return self._reps[key]


def compare(
    runs: pl.DataFrame,
    steps_by_run: dict[str, np.ndarray],
    *,
    margin: float = EQUIVALENCE_MARGIN,
    seed: int = SEED,
    n_resamples: int = N_RESAMPLES,
    statistic: str = "median",
) -> Comparisons:
    """All pairwise comparisons in every scope, from a run table and steady-state steps per run.

    `statistic` summarises runs within a cell (and, in the bootstrap, steps within a run): the median,
    or the trimmed mean as a sensitivity reading (fwbench.stats.bootstrap.center); the columns keep
    their names (median_a, median_b)."""
    rows, reps = [], {}
    runs = with_cell_defaults(runs)
    for scope in scopes(runs):
        table = in_scope(runs, scope)
        cells = table.select(CELL_COLUMNS).unique(subset=["cell_id"], keep="first")
        first_row = len(rows)
        data = CellData(table, scope, steps_by_run, seed, n_resamples, statistic)
        for a, b, variant in comparison_pairs(cells):
            for metric in METRICS.values():
                va = data.values[a["cell_id"], metric.name][1]
                vb = data.values[b["cell_id"], metric.name][1]
                if len(va) == 0 or len(vb) == 0:
                    continue
                cid = f"{scope}:{metric.name}:{a['cell_id']}:{b['cell_id']}"
                row = {
                    "comparison_id": cid, "system_id": scope, "metric": metric.name, "unit": metric.unit,
                    "kind": _kind(a, b), **{k: a[k] for k in KEY_FIELDS}, "variant": variant,
                    **{f"{k}_{side}": r[k] for side, r in (("a", a), ("b", b)) for k in SIDE_FIELDS},
                    "n_a": len(va), "n_b": len(vb),
                    "median_a": float(center(va, statistic=statistic)),
                    "median_b": float(center(vb, statistic=statistic)),
                    "ratio": float(center(va, statistic=statistic) / center(vb, statistic=statistic)),
                    "direction": f"ratio = {metric.name} A/B; > 1: A ({_label(a)}) "
                                 f"{'uses more' if 'memory' in metric.name else 'slower'}",
                    "ratio_low": math.nan, "ratio_high": math.nan, "ci_method": None,
                    "mwu_u": math.nan, "p_value": math.nan, "prob_a_lower": math.nan,
                    "equivalence_margin": margin, "tost_p": math.nan, "note": None,
                }
                if len(va) < MIN_RUNS or len(vb) < MIN_RUNS:
                    row["note"] = (f"fewer than {MIN_RUNS} usable runs on a side ({_label(a)}: {len(va)}, "
                                   f"{_label(b)}: {len(vb)}): no CI, test or verdict")
                else:
                    ci = ratio_from_medians(row["median_a"], row["median_b"],
                                            data.replicates(a["cell_id"], metric),
                                            data.replicates(b["cell_id"], metric),
                                            data.method(a["cell_id"], b["cell_id"], metric))
                    reps[cid] = ci.log_replicates
                    u, p, prob = mann_whitney(va, vb)
                    row.update(ratio_low=ci.low, ratio_high=ci.high, ci_method=ci.method,
                               mwu_u=u, p_value=p, prob_a_lower=prob, tost_p=tost(va, vb, margin))
                rows.append(row)
        adjusted = bh_adjust([r["p_value"] for r in rows[first_row:]])
        for r, p_adj in zip(rows[first_row:], adjusted):
            r["p_adjusted"] = float(p_adj)
            r["significant"] = bool(p_adj < ALPHA) if np.isfinite(p_adj) else None
            r["equivalent"] = bool(r["tost_p"] < ALPHA) if np.isfinite(r["tost_p"]) else None
            r["ci_excludes_1"] = (bool(r["ratio_low"] > 1 or r["ratio_high"] < 1)
                                  if np.isfinite(r["ratio_low"]) else None)
    table = pl.DataFrame(rows, schema=empty_table().schema) if rows else empty_table()
    return Comparisons(table, reps)


def empty_table() -> pl.DataFrame:
    """The comparisons schema with no rows (a dataset with a single framework/mode per key)."""
    s, f, i, b = pl.String, pl.Float64, pl.Int64, pl.Boolean
    key_types = {"model": s, "size": s, "phase": s, "batch_size": i, "seq_len": i, "device": s,
                 "threads": i, "dtype": s, "variant": s}
    schema = {"comparison_id": s, "system_id": s, "metric": s, "unit": s, "kind": s,
              **{k: key_types[k] for k in KEY_FIELDS},
              **{f"{k}_{side}": s for side in ("a", "b") for k in SIDE_FIELDS},
              "n_a": i, "n_b": i, "median_a": f, "median_b": f, "ratio": f, "direction": s,
              "ratio_low": f, "ratio_high": f, "ci_method": s, "mwu_u": f, "p_value": f, "prob_a_lower": f,
              "equivalence_margin": f, "tost_p": f, "note": s, "p_adjusted": f, "significant": b,
              "equivalent": b, "ci_excludes_1": b}
    return pl.DataFrame(schema=schema)
