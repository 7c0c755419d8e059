"""Claims of CLAIMS.md as data (analysis/claims.yaml) and their verdicts, computed from the data.

A claim names a metric, two sides (A and B: a framework and optional modes), a cell filter and a
threshold region for the oriented ratio A/B (for throughput A/B, i.e. > 1 means A is faster).
Effect = geometric mean of the ratio over the matching comparison cells, with a two-stage
bootstrap CI (fwbench.stats.bootstrap.geomean_ci). Verdict (the vocabulary of CLAIMS.md), from
the per-cell CIs, the pooled 95% CI and the region:

- depends on the cell:       per-cell effects go both ways (some cell CIs entirely above 1, some
                             entirely below): no pooled verdict, the cells of each side are listed;
- supported:                 CI entirely inside the region;
- contradicted:              a direction claim's CI lies entirely on the other side of 1 (the
                             opposite holds); an equivalence claim's CI entirely outside its bounds;
- direction holds, size not: the CI excludes 1 on the claimed side but is outside or across the
                             claimed magnitude (e.g. "significantly" = > 10%, measured 3-8%);
- inconclusive:              the CI crosses 1 (or an equivalence bound): never "no difference";
- not testable here:         no data can test it (no cuda runs, no accuracy runs, no matching
                             cells ...), with the reason.

One verdict per system_id and one pooled. Adding a claim is one YAML entry; load_claims
validates it and names the claim id and field on error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from fwbench import constants as C
from fwbench.paths import CLAIMS_FILE
from fwbench.stats.accuracy import FRAMEWORK_A as ACCURACY_A
from fwbench.stats.accuracy import TARGET_FRACTION, ConfigEffect, accuracy_effects, time_to_accuracy_effects
from fwbench.stats.best_of import BestOf, best_of
from fwbench.stats.bootstrap import N_RESAMPLES, SEED, geomean_ci
from fwbench.stats.comparisons import EQUIVALENCE_MARGIN, MIN_RUNS, Comparisons
from fwbench.stats.metrics import KEY_FIELDS, METRICS, POOLED, in_scope

#: Claims judged per accuracy-track configuration (fwbench.stats.accuracy), never pooled across models.
ACCURACY_METRICS: tuple[str, ...] = ("accuracy", "time_to_accuracy")
CLAIM_METRICS: tuple[str, ...] = ("step_time", "throughput", "first_step", "first_step_warm", "memory",
                                  "memory_total", "device_memory", *ACCURACY_METRICS)
REGION_UNITS: tuple[str, ...] = ("ratio", "pp")
LARGEST = "largest"  # filter value of size and batch_size: each workload's largest value in the data
REQUIREMENTS: tuple[str, ...] = ("multi_worker",)
# Which modes stand for a framework (CLAIMS.md): defaults = each framework as its users run it
# (constants.DEFAULT_MODES: torch eager vs TF function); best-of = each framework's fastest mode per
# cell, chosen on held-out runs (fwbench.stats.best_of); all-pairs = every mode of each side (kept as
# a sensitivity reading); as-stated = the modes written on the sides (mode claims such as C11b).
CONTRASTS: tuple[str, ...] = ("defaults", "best-of", "all-pairs", "as-stated")
VERDICTS: tuple[str, ...] = ("supported", "contradicted", "direction holds, size not", "inconclusive",
                             "depends on the cell", "not testable here", "not reproducible")
_STRING_FILTERS = {"model": C.MODELS, "size": tuple(sorted({s for v in C.SIZES.values() for s in v})),
                   "phase": C.PHASES, "device": C.DEVICES, "dtype": C.DTYPES, "variant": C.ALL_VARIANTS}
_INT_FILTERS = ("batch_size", "seq_len", "threads")
_CLAIM_KEYS = {"id", "text", "source", "tests", "metric", "contrast", "a", "b", "filter", "threshold", "requires",
               "note"}


class ClaimError(ValueError):
    """An invalid entry of claims.yaml; names the file, the claim id and the field."""

    def __init__(self, source: str, claim_id: str, field_name: str, message: str) -> None:
        super().__init__(f"{source}: claim {claim_id}: field '{field_name}': {message}")


@dataclass(frozen=True)
class Region:
    """Where the oriented effect's 95% CI must lie for the claim to hold (open-ended if None).

    The effect is a ratio (neutral point 1) or, for unit `pp`, a difference in percentage points
    (neutral point 0)."""

    name: str
    low: float | None
    high: float | None
    text: str
    unit: str = "ratio"

    @property
    def neutral(self) -> float:
        """The effect of no difference: 1 for a ratio, 0 for a difference."""
        return 0.0 if self.unit == "pp" else 1.0

    def describe(self) -> str:
        lo = ("-inf" if self.unit == "pp" else "0") if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        unit = " pp" if self.unit == "pp" else ""
        return f"{self.name}: 95% CI inside ({lo}, {hi}){unit} [{self.text}]"

    def contains(self, lo: float, hi: float) -> bool:
        return (self.low is None or lo > self.low) and (self.high is None or hi < self.high)

    def disjoint(self, lo: float, hi: float) -> bool:
        return (self.low is not None and hi <= self.low) or (self.high is not None and lo >= self.high)

    @property
    def direction(self) -> int:
        """+1: the region lies above the neutral point (A higher); -1: below it; 0: around it
        (an equivalence or non-inferiority claim)."""
        if self.low is not None and self.low >= self.neutral:
            return 1
        if self.high is not None and self.high <= self.neutral:
            return -1
        return 0

    def verdict(self, lo: float, hi: float) -> tuple[str, str]:
        """(verdict, how the CI lies) for a pooled CI; see the module docstring."""
        if self.contains(lo, hi):
            return "supported", f"inside {self.name}"
        if self.direction == 0:
            if self.disjoint(lo, hi):
                return "contradicted", f"entirely outside {self.name}"
            return "inconclusive", f"across a bound of {self.name}"
        n = self.neutral
        opposite = hi < n if self.direction > 0 else lo > n
        holds = lo > n if self.direction > 0 else hi < n
        if opposite:
            return "contradicted", f"entirely on the other side of {n:g}"
        if holds:
            return "direction holds, size not", f"on the claimed side of {n:g}, not inside {self.name}"
        return "inconclusive", f"across {n:g}"


@dataclass(frozen=True)
class Side:
    """One side of a claim: a framework run by itself (no Keras backend), in some modes, natively or through
    exported inference runtimes. An exported model is always run from the framework's default mode it was
    exported from (constants.DEFAULT_MODES), so `modes` constrains the native cells only."""

    framework: str
    modes: tuple[str, ...]  # empty: every mode
    runtimes: tuple[str, ...] = (C.NATIVE_RUNTIME,)

    def matches(self, row: dict[str, Any], suffix: str = "") -> bool:
        """Whether a cell row (suffix "") or one side of a comparison row ("_a", "_b") is this side."""
        runtime = row.get(f"runtime{suffix}", C.NATIVE_RUNTIME)
        return (row[f"framework{suffix}"] == self.framework
                and row.get(f"backend{suffix}", C.NATIVE_BACKEND) == C.NATIVE_BACKEND
                and runtime in self.runtimes
                and (runtime != C.NATIVE_RUNTIME or not self.modes or row[f"mode{suffix}"] in self.modes))

    def describe(self) -> str:
        exported = [r for r in self.runtimes if r != C.NATIVE_RUNTIME]
        return (self.framework + (f" ({'|'.join(self.modes)})" if self.modes else "")
                + (f" or exported to {'|'.join(exported)}" if exported else ""))


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    source: str
    tests: str
    metric: str
    a: Side
    b: Side
    threshold: Region
    filter: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    note: str | None = None
    contrast: str = "as-stated"

    def sides(self) -> tuple[Side, Side]:
        """The sides as compared under the claim's contrast (defaults: each framework's default mode;
        best-of: every mode, of which fwbench.stats.best_of keeps the chosen one per cell)."""
        if self.contrast != "defaults":
            return self.a, self.b
        return (Side(self.a.framework, (C.DEFAULT_MODES[self.a.framework],), self.a.runtimes),
                Side(self.b.framework, (C.DEFAULT_MODES[self.b.framework],), self.b.runtimes))

    @property
    def ratio_definition(self) -> str:
        a, b = self.sides()
        if self.metric == "accuracy":
            return (f"final validation accuracy {a.framework} - {b.framework} (percentage points), per "
                    f"configuration; effect = the one furthest from 0")
        if self.metric == "time_to_accuracy":
            return (f"training seconds to the target accuracy {a.framework} / {b.framework}, per configuration; "
                    f"effect = the one furthest from 1")
        label = "throughput (samples/s)" if self.metric == "throughput" else METRICS[self.metric].label
        return f"{label}: {a.describe()} / {b.describe()} ({self.contrast}), geometric mean over cells"


# ---------------------------------------------------------------- loading and validation
def _region(source: str, cid: str, name: str, spec: Any) -> Region:
    fld = f"threshold {name}" if name else "threshold"
    if not isinstance(spec, dict):
        raise ClaimError(source, cid, fld, "must be a mapping with above|below|within and text")
    unknown = set(spec) - {"above", "below", "within", "text", "unit"}
    if unknown:
        raise ClaimError(source, cid, fld, f"unknown key(s) {sorted(unknown)}; allowed: above, below, within, text, "
                                           "unit")
    if not isinstance(spec.get("text"), str) or not spec["text"].strip():
        raise ClaimError(source, cid, fld, "needs 'text' stating the operational threshold")
    unit = spec.get("unit", "ratio")
    if unit not in REGION_UNITS:
        raise ClaimError(source, cid, f"{fld}.unit", f"{unit!r}; allowed: {', '.join(REGION_UNITS)}")
    low, high = spec.get("above"), spec.get("below")
    if "within" in spec:
        w = spec["within"]
        if low is not None or high is not None or not (isinstance(w, list) and len(w) == 2):
            raise ClaimError(source, cid, fld, "'within' is a [low, high] pair and excludes above/below")
        low, high = w
    for v in (low, high):
        if v is not None and not (isinstance(v, (int, float)) and (v > 0 or unit == "pp")):
            raise ClaimError(source, cid, fld, f"bounds are positive ratios (or any number with unit: pp), got {v!r}")
    if low is None and high is None:
        raise ClaimError(source, cid, fld, "needs above, below or within")
    if low is not None and high is not None and not low < high:
        raise ClaimError(source, cid, fld, f"low {low} must be below high {high}")
    return Region(name or "threshold", None if low is None else float(low),
                  None if high is None else float(high), spec["text"].strip(), unit)


def _side(source: str, cid: str, name: str, spec: Any) -> Side:
    """A claim side: framework (constants.CLAIMS_FRAMEWORKS: the claims are torch vs TensorFlow), its modes,
    and the inference runtimes it reads (default native only)."""
    if not isinstance(spec, dict) or spec.get("framework") not in C.CLAIMS_FRAMEWORKS:
        raise ClaimError(source, cid, name, f"needs framework: one of {', '.join(C.CLAIMS_FRAMEWORKS)}")
    unknown = set(spec) - {"framework", "mode", "runtime"}
    if unknown:
        raise ClaimError(source, cid, name, f"unknown key(s) {sorted(unknown)}; allowed: framework, mode, runtime")
    framework = spec["framework"]
    modes = _choices(source, cid, f"{name}.mode", spec.get("mode", []), C.MODES[framework])
    runtimes = _choices(source, cid, f"{name}.runtime", spec.get("runtime", [C.NATIVE_RUNTIME]), C.RUNTIMES[framework])
    if not runtimes:
        raise ClaimError(source, cid, f"{name}.runtime", f"empty; allowed: {', '.join(C.RUNTIMES[framework])}")
    return Side(framework, modes, runtimes)


def _choices(source: str, cid: str, fld: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A string or list of strings, each one of `allowed` (ClaimError naming the field otherwise)."""
    values = [value] if isinstance(value, str) else value
    bad = [v for v in values if v not in allowed] if isinstance(values, list) else values
    if bad or not isinstance(values, list):
        raise ClaimError(source, cid, fld, f"{bad!r} not in {', '.join(allowed)}")
    return tuple(values)


def _filter(source: str, cid: str, spec: Any) -> dict[str, Any]:
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ClaimError(source, cid, "filter", "must be a mapping of cell field -> allowed values")
    out: dict[str, Any] = {}
    for key, value in spec.items():
        fld = f"filter.{key}"
        if key == "size" and value == LARGEST:
            out[key] = LARGEST
        elif key in _STRING_FILTERS:
            values = [value] if isinstance(value, str) else value
            allowed = _STRING_FILTERS[key]
            if not isinstance(values, list) or not values or any(v not in allowed for v in values):
                extra = " or 'largest' (each family's largest size in the data)" if key == "size" else ""
                raise ClaimError(source, cid, fld, f"{value!r}: allowed values {', '.join(allowed)}{extra}")
            out[key] = tuple(values)
        elif key in _INT_FILTERS:
            if value == LARGEST and key == "batch_size":
                out[key] = LARGEST
            elif isinstance(value, dict) and set(value) <= {"min", "max"} and value:
                out[key] = {k: int(v) for k, v in value.items()}
            elif isinstance(value, list) and value and all(isinstance(v, int) for v in value):
                out[key] = tuple(value)
            else:
                extra = ", 'largest'" if key == "batch_size" else ""
                raise ClaimError(source, cid, fld, f"{value!r}: a list of integers, {{min, max}}{extra}")
        else:
            raise ClaimError(source, cid, fld, f"unknown filter field; allowed: {', '.join(KEY_FIELDS)}")
    return out


def parse_claims(data: Any, source: str = "claims.yaml") -> list[Claim]:
    """Validated claims from the parsed YAML document."""
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ClaimError(source, "-", "claims", "the file needs a top-level 'claims' list")
    named = {}
    for name, spec in (data.get("thresholds") or {}).items():
        named[name] = _region(source, "-", name, spec)
    claims, seen = [], set()
    for i, entry in enumerate(data["claims"]):
        cid = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(cid, str) or not cid:
            raise ClaimError(source, f"#{i + 1}", "id", "every claim needs a string id")
        if cid in seen:
            raise ClaimError(source, cid, "id", "duplicate id")
        seen.add(cid)
        unknown = set(entry) - _CLAIM_KEYS
        if unknown:
            raise ClaimError(source, cid, sorted(unknown)[0], f"unknown field; allowed: {', '.join(sorted(_CLAIM_KEYS))}")
        for key in ("text", "source", "tests"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ClaimError(source, cid, key, "required non-empty text")
        if entry.get("metric") not in CLAIM_METRICS:
            raise ClaimError(source, cid, "metric", f"{entry.get('metric')!r}; allowed: {', '.join(CLAIM_METRICS)}")
        threshold = entry.get("threshold")
        if isinstance(threshold, str):
            if threshold not in named:
                raise ClaimError(source, cid, "threshold", f"{threshold!r} is not one of the named thresholds "
                                                           f"({', '.join(named) or 'none defined'})")
            region = named[threshold]
        else:
            region = _region(source, cid, "", threshold)
        requires = entry.get("requires") or []
        bad = [r for r in requires if r not in REQUIREMENTS]
        if bad:
            raise ClaimError(source, cid, "requires", f"{bad}; allowed: {', '.join(REQUIREMENTS)}")
        a, b = _side(source, cid, "a", entry.get("a")), _side(source, cid, "b", entry.get("b"))
        if a.framework == b.framework and (not a.modes or not b.modes or set(a.modes) & set(b.modes)):
            raise ClaimError(source, cid, "b.mode", "a mode comparison needs disjoint, explicit modes on a and b")
        contrast = entry.get("contrast")
        if contrast not in CONTRASTS:
            raise ClaimError(source, cid, "contrast", f"{contrast!r}; allowed: {', '.join(CONTRASTS)}")
        if contrast in ("defaults", "best-of") and (a.modes or b.modes or a.framework == b.framework):
            raise ClaimError(source, cid, "contrast", f"{contrast} compares two frameworks in modes it picks itself "
                                                      "(defaults: constants.DEFAULT_MODES; best-of: the fastest, "
                                                      "held out): leave a.mode and b.mode out, or use as-stated")
        metric = entry["metric"]
        wanted_unit = "pp" if metric == "accuracy" else "ratio"
        if region.unit != wanted_unit:
            raise ClaimError(source, cid, "threshold", f"metric {metric} is judged as a "
                                                       f"{'difference in pp' if wanted_unit == 'pp' else 'ratio'}: "
                                                       f"the threshold needs unit: {wanted_unit}")
        if metric in ACCURACY_METRICS and (a.framework == b.framework or contrast != "as-stated"):
            raise ClaimError(source, cid, "contrast", "an accuracy-track claim compares two frameworks as trained "
                                                      "by the accuracy track: contrast as-stated, a and b differ")
        claims.append(Claim(cid, entry["text"].strip(), entry["source"].strip(), entry["tests"].strip(),
                            entry["metric"], a, b, region, _filter(source, cid, entry.get("filter")),
                            tuple(requires), entry.get("note"), contrast))
    return claims


def load_claims(path: str | Path = CLAIMS_FILE) -> list[Claim]:
    """Read and validate analysis/claims.yaml (or another claims file)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClaimError(str(path), "-", "-", "file not found") from None
    return parse_claims(data, str(path))


# ---------------------------------------------------------------- evaluation
@dataclass
class Evidence:
    """What claims are judged from: the per-run table and its comparisons (speed and memory claims),
    the steady-state steps (for the best-of contrast's own comparisons, built on first use), and the
    accuracy track's runs and epochs (accuracy claims)."""

    runs: pl.DataFrame
    comps: Comparisons
    steps_by_run: dict[str, np.ndarray] = field(default_factory=dict)
    accuracy_runs: pl.DataFrame = field(default_factory=pl.DataFrame)
    accuracy_epochs: pl.DataFrame = field(default_factory=pl.DataFrame)
    seed: int = SEED
    n_resamples: int = N_RESAMPLES
    margin: float = EQUIVALENCE_MARGIN
    #: accuracy claims: pair the two frameworks' runs by seed (False: Welch, a sensitivity reading)
    accuracy_paired: bool = True
    #: time-to-accuracy claims: the target as a fraction of the lower median final accuracy
    target_fraction: float = TARGET_FRACTION

    @cached_property
    def best_of(self) -> BestOf:
        return best_of(self.runs, self.steps_by_run, seed=self.seed, n_resamples=self.n_resamples, margin=self.margin)


def _passes(claim: Claim, row: dict[str, Any]) -> bool:
    """Whether a cell or comparison row is one the claim reads; without a `variant` filter, only the standard
    models (an implementation variant answers "framework or layer?", fwbench.stats.layer_ablation). Which
    runtimes a claim reads is said by its sides (Side.runtimes)."""
    if "variant" not in claim.filter and row.get("variant", C.STANDARD_VARIANT) != C.STANDARD_VARIANT:
        return False
    for key, allowed in claim.filter.items():
        value = row[key]
        if allowed == LARGEST:
            continue
        if isinstance(allowed, dict):
            if value < allowed.get("min", value) or value > allowed.get("max", value):
                return False
        elif value not in allowed:
            return False
    return True


def _rank(key: str, row: dict[str, Any]) -> int:
    """How large a row's value of `key` is (sizes by their order in constants.SIZES)."""
    return C.SIZES[row["model"]].index(row["size"]) if key == "size" else int(row[key])


def _largest(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Keep, per workload (key fields except `key`), the rows at its largest value of `key`."""
    others = [k for k in KEY_FIELDS if k != key]
    top: dict[tuple, int] = {}
    for r in rows:
        workload = tuple(r[k] for k in others)
        top[workload] = max(top.get(workload, -1), _rank(key, r))
    return [r for r in rows if _rank(key, r) == top[tuple(r[k] for k in others)]]


def _orientation(claim: Claim, row: dict[str, Any]) -> int:
    """+1 if the row's A/B is the claim's A/B, -1 if reversed, 0 if it does not match the sides."""
    a, b = claim.sides()
    if a.matches(row, "_a") and b.matches(row, "_b"):
        return 1
    if a.matches(row, "_b") and b.matches(row, "_a"):
        return -1
    return 0


def _describe_filter(claim: Claim) -> str:
    return ", ".join(f"{k}={'|'.join(map(str, v)) if isinstance(v, tuple) else v}"
                     for k, v in claim.filter.items()) or "all cells"


def _untestable(claim: Claim, scope: str, ev: Evidence, where: str) -> str | None:
    """Why the data cannot test this claim at all (independent of comparisons), or None."""
    if claim.metric in ACCURACY_METRICS:
        acc = ev.accuracy_runs
        if not acc.height or in_scope(acc.filter(pl.col("status") == "ok"), scope).height == 0:
            return f"needs accuracy runs: none {where}"
        return None
    runs = in_scope(ev.runs, scope) if ev.runs.height else ev.runs
    ok = runs.filter(pl.col("status") == "ok") if "status" in runs.columns else runs
    if "multi_worker" in claim.requires:
        if "workers" not in runs.columns or ok.filter(pl.col("workers") > 1).height == 0:
            return (f"needs a multi-worker grid (data-parallel scaling over several workers/machines): no "
                    f"multi-worker runs {where}; one machine can give only a labelled local proxy, not scale")
        return "multi-worker analysis is not implemented in fwbench.stats yet"
    if not ok.height:
        return f"needs speed runs: none {where}"
    devices = claim.filter.get("device")
    if devices and ok.filter(pl.col("device").is_in(list(devices))).height == 0:
        return f"needs {'/'.join(devices)} runs: none {where}"
    if claim.metric == "device_memory" and ok.filter(pl.col("device_peak_mb").is_not_null()).height == 0:
        return f"needs device memory measurements (GPU runs): none {where}"
    return None


def _no_cells_reason(claim: Claim, runs: pl.DataFrame, where: str) -> str:
    ok = runs.filter(pl.col("status") == "ok")
    cells = [r for r in ok.unique(subset=["cell_id"]).iter_rows(named=True) if _passes(claim, r)]
    a, b = claim.sides()
    n_a = sum(a.matches(r) for r in cells)
    n_b = sum(b.matches(r) for r in cells)
    return (f"no comparable cells {where}: {n_a} cell(s) with ok runs match A ({a.describe()}) and "
            f"{n_b} match B ({b.describe()}) under {_describe_filter(claim)}; a comparison needs both "
            f"at the same model/size/phase/batch/seq_len/device/threads/dtype")


def _oriented_ci(row: dict[str, Any], orientation: float) -> tuple[float, float]:
    """A comparison's ratio CI in the claim's orientation (orientation -1 inverts the ratio)."""
    lo, hi = row["ratio_low"], row["ratio_high"]
    return (lo, hi) if orientation > 0 else (1.0 / hi, 1.0 / lo)


def _both_ways(cis: list[tuple[str, float, float]], neutral: float) -> str | None:
    """Which units have CIs entirely above the neutral point and which entirely below, when both kinds
    exist (else None): the check before any pooling (CLAIMS.md, 'depends on the cell')."""
    above = [f"{label} [{lo:.2f}, {hi:.2f}]" for label, lo, hi in cis if lo > neutral]
    below = [f"{label} [{lo:.2f}, {hi:.2f}]" for label, lo, hi in cis if hi < neutral]
    if not (above and below):
        return None
    return f"above {neutral:g}: {', '.join(above)}; below {neutral:g}: {', '.join(below)}"


def _dropped_pairs(rows: list[dict[str, Any]]) -> str | None:
    """The matching cell pairs a claim left out for too few usable runs, with their run counts."""
    return "; ".join(f"{r['cell_id_a']}/{r['cell_id_b']} ({r['framework_a']} {r['mode_a']}: {r['n_a']} runs, "
                     f"{r['framework_b']} {r['mode_b']}: {r['n_b']} runs)" for r in rows) or None


def _empty_row(claim: Claim, scope: str) -> dict[str, Any]:
    return {
        "claim_id": claim.id, "claim": claim.text, "source": claim.source, "tests": claim.tests,
        "system_id": scope, "metric": claim.metric, "contrast": claim.contrast,
        "ratio_definition": claim.ratio_definition, "n_cells": 0, "cells": None, "n_runs": 0, "effect": math.nan,
        "effect_low": math.nan, "effect_high": math.nan, "ci_method": None, "threshold": claim.threshold.describe(),
        "verdict": "not testable here", "reason": None, "note": claim.note, "pairs_dropped": 0,
        "dropped_pairs": None,
    }


def matched_comparisons(claim: Claim, scope: str,
                        ev: Evidence) -> tuple[list[tuple[dict[str, Any], int]], Comparisons]:
    """The comparison rows a claim reads in a scope, each with its orientation, and their Comparisons."""
    comps = ev.best_of.comps if claim.contrast == "best-of" else ev.comps
    base_metric = "step_time" if claim.metric == "throughput" else claim.metric
    table = comps.table.filter((pl.col("system_id") == scope) & (pl.col("metric") == base_metric))
    matched = [(r, o) for r in table.iter_rows(named=True) if _passes(claim, r) and (o := _orientation(claim, r))]
    if claim.contrast == "best-of":
        chosen = ev.best_of
        matched = [(r, o) for r, o in matched if chosen.is_chosen(scope, r, "a") and chosen.is_chosen(scope, r, "b")]
    for key in ("size", "batch_size"):
        if claim.filter.get(key) == LARGEST:
            keep = {id(r) for r in _largest([r for r, _ in matched], key)}
            matched = [(r, o) for r, o in matched if id(r) in keep]
    return matched, comps


def _evaluate_comparisons(claim: Claim, scope: str, ev: Evidence, row: dict[str, Any], where: str) -> dict[str, Any]:
    """A speed or memory claim: geometric mean of the matching cell pairs' ratios, after the both-ways check."""
    matched, comps = matched_comparisons(claim, scope, ev)
    if not matched:
        return {**row, "reason": _no_cells_reason(claim, in_scope(ev.runs, scope), where)}
    usable = [(r, o) for r, o in matched if r["comparison_id"] in comps.log_replicates]
    dropped = [r for r, _ in matched if r["comparison_id"] not in comps.log_replicates]
    row.update(pairs_dropped=len(dropped), dropped_pairs=_dropped_pairs(dropped))
    if not usable:
        return {**row, "n_cells": 0, "reason": f"{len(matched)} matching cell pair(s) {where}, but none has "
                                                f">= {MIN_RUNS} usable runs per side"}
    sign = -1.0 if claim.metric == "throughput" else 1.0
    logs = [sign * o * math.log(r["ratio"]) for r, o in usable]
    reps = [sign * o * comps.log_replicates[r["comparison_id"]] for r, o in usable]
    ci = geomean_ci(reps, logs, seed=ev.seed)
    runs_per_cell = {r["cell_id_a"]: r["n_a"] for r, _ in usable} | {r["cell_id_b"]: r["n_b"] for r, _ in usable}
    verdict, how = claim.threshold.verdict(ci.low, ci.high)
    split = _both_ways([(f"{r['cell_id_a']}/{r['cell_id_b']}", *_oriented_ci(r, sign * o)) for r, o in usable], 1.0)
    if split:
        verdict, how = "depends on the cell", f"{how}, but per-cell effects go both ways ({split})"
    reason = (f"effect {ci.estimate:.3f} [95% CI {ci.low:.3f}, {ci.high:.3f}] over {len(usable)} cell pair(s): "
              f"CI {how}"
              + (f"; {len(dropped)} matching pair(s) left out, < {MIN_RUNS} usable runs on a side" if dropped else "")
              + (f"; best-of modes, chosen on held-out runs: {ev.best_of.describe(scope)}"
                 if claim.contrast == "best-of" else ""))
    return {**row, "n_cells": len(usable), "n_runs": int(sum(runs_per_cell.values())),
            "cells": ";".join(f"{r['cell_id_a']}/{r['cell_id_b']}" for r, _ in usable),
            "effect": ci.estimate, "effect_low": ci.low, "effect_high": ci.high, "ci_method": ci.method,
            "verdict": verdict, "reason": reason}


def _config_effects(claim: Claim, scope: str, ev: Evidence) -> list[ConfigEffect]:
    """The accuracy track's per-configuration effects, oriented as the claim's A vs B."""
    if claim.metric == "accuracy":
        effects = accuracy_effects(ev.accuracy_runs, scope=scope, min_runs=MIN_RUNS, paired=ev.accuracy_paired)
    else:
        effects = time_to_accuracy_effects(ev.accuracy_runs, ev.accuracy_epochs, scope=scope, min_runs=MIN_RUNS,
                                           target_fraction=ev.target_fraction, seed=ev.seed,
                                           n_resamples=ev.n_resamples)
    if claim.a.framework == ACCURACY_A:
        return effects
    if claim.metric == "accuracy":  # a difference: B - A = -(A - B)
        return [replace(e, estimate=-e.estimate, low=-e.high, high=-e.low) for e in effects]
    return [replace(e, estimate=1 / e.estimate, low=1 / e.high, high=1 / e.low) for e in effects]


def _distance(effect: ConfigEffect, region: Region) -> float:
    return abs(effect.estimate) if region.unit == "pp" else abs(math.log(effect.estimate))


def _evaluate_per_config(claim: Claim, scope: str, ev: Evidence, row: dict[str, Any], where: str) -> dict[str, Any]:
    """An accuracy-track claim, judged per configuration (model), never pooled across models: supported
    only when every configuration is; depends on the cell when they go both ways; contradicted when one
    is; else inconclusive. The row's effect is the configuration furthest from no difference."""
    effects = _config_effects(claim, scope, ev)
    region = claim.threshold
    if not effects:
        return {**row, "reason": f"no accuracy configuration {where} has finished runs in both "
                                 f"{claim.a.framework} and {claim.b.framework}"}
    def show(x: float) -> str:
        return f"{x:+.2f} pp" if region.unit == "pp" else f"{x:.3f}"

    judged = [(e, region.verdict(e.low, e.high)[0]) for e in effects if math.isfinite(e.low)]
    parts = [f"{e.label}: {show(e.estimate)} [{show(e.low)}, {show(e.high)}] {v} ({e.method}"
             + (f"; {e.note}" if e.note else "") + ")" for e, v in judged]
    parts += [f"{e.label}: left out, {e.note}" for e in effects if not math.isfinite(e.low)]
    n_runs = sum(e.n_torch + e.n_tensorflow for e in effects)
    row.update(n_cells=len(judged), n_runs=n_runs, cells=";".join(e.label for e, _ in judged) or None,
               pairs_dropped=len(effects) - len(judged),
               dropped_pairs="; ".join(f"{e.label} ({e.note})" for e in effects if not math.isfinite(e.low)) or None)
    if not judged:
        return {**row, "reason": f"no configuration {where} has >= {MIN_RUNS} runs per framework: " + "; ".join(parts)}
    verdicts = [v for _, v in judged]
    split = _both_ways([(e.label, e.low, e.high) for e, _ in judged], region.neutral)
    if split:
        verdict = "depends on the cell"
    elif "contradicted" in verdicts:
        verdict = "contradicted"
    elif len(set(verdicts)) == 1 and len(judged) == len(effects):
        verdict = verdicts[0]
    else:
        verdict = "inconclusive"
    worst = max((e for e, _ in judged), key=lambda e: _distance(e, region))
    reason = (f"per configuration, {region.describe()}: " + "; ".join(parts)
              + (f"; configurations go both ways ({split})" if split else ""))
    return {**row, "effect": worst.estimate, "effect_low": worst.low, "effect_high": worst.high,
            "ci_method": f"{worst.method} ({worst.label})", "verdict": verdict, "reason": reason}


def evaluate_claim(claim: Claim, scope: str, ev: Evidence) -> dict[str, Any]:
    """The verdict row of one claim in one scope (a system_id or 'pooled')."""
    where = "in the dataset" if scope == "pooled" else f"from system {scope}"
    row = _empty_row(claim, scope)
    reason = _untestable(claim, scope, ev, where)
    if reason:
        return {**row, "reason": reason}
    if claim.metric in ACCURACY_METRICS:
        return _evaluate_per_config(claim, scope, ev, row, where)
    return _evaluate_comparisons(claim, scope, ev, row, where)


def claim_scopes(ev: Evidence) -> list[str]:
    """Every system_id of the speed or accuracy runs, then 'pooled'."""
    systems = set(ev.runs.get_column("system_id").unique().to_list()) if ev.runs.height else set()
    if ev.accuracy_runs.height:
        systems |= set(ev.accuracy_runs.get_column("system_id").unique().to_list())
    return [*sorted(systems), POOLED]


def evaluate_claims(claims: list[Claim], ev: Evidence) -> pl.DataFrame:
    """One row per claim and scope (every system_id, then 'pooled'), in claims-file order."""
    rows = [evaluate_claim(c, scope, ev) for c in claims for scope in claim_scopes(ev)]
    return pl.DataFrame(rows, schema=CLAIMS_SCHEMA)


CLAIMS_SCHEMA: dict[str, pl.DataType] = {
    "claim_id": pl.String, "claim": pl.String, "source": pl.String, "tests": pl.String, "system_id": pl.String,
    "metric": pl.String, "contrast": pl.String, "ratio_definition": pl.String, "n_cells": pl.Int64,
    "cells": pl.String, "n_runs": pl.Int64, "effect": pl.Float64, "effect_low": pl.Float64,
    "effect_high": pl.Float64, "ci_method": pl.String, "threshold": pl.String, "verdict": pl.String,
    "reason": pl.String, "note": pl.String, "pairs_dropped": pl.Int64, "dropped_pairs": pl.String}
