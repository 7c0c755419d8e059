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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from fwbench import constants as C
from fwbench.paths import CLAIMS_FILE
from fwbench.stats.bootstrap import SEED, geomean_ci
from fwbench.stats.comparisons import MIN_RUNS, Comparisons
from fwbench.stats.metrics import KEY_FIELDS, METRICS, in_scope, scopes

CLAIM_METRICS: tuple[str, ...] = ("step_time", "throughput", "first_step", "first_step_warm", "memory",
                                  "device_memory", "accuracy")
REQUIREMENTS: tuple[str, ...] = ("multi_worker",)
# Which modes stand for a framework (CLAIMS.md): defaults = each framework as its users run it
# (constants.DEFAULT_MODES: torch eager vs TF function); all-pairs = every mode of each side (kept as
# a sensitivity reading); as-stated = the modes written on the sides (mode claims such as C11).
CONTRASTS: tuple[str, ...] = ("defaults", "all-pairs", "as-stated")
VERDICTS: tuple[str, ...] = ("supported", "contradicted", "direction holds, size not", "inconclusive",
                             "depends on the cell", "not testable here", "not reproducible")
_STRING_FILTERS = {"model": C.MODELS, "size": tuple(sorted({s for v in C.SIZES.values() for s in v})),
                   "phase": C.PHASES, "device": C.DEVICES, "dtype": C.DTYPES}
_INT_FILTERS = ("batch_size", "seq_len", "threads")
_CLAIM_KEYS = {"id", "text", "source", "tests", "metric", "contrast", "a", "b", "filter", "threshold", "requires",
               "note"}


class ClaimError(ValueError):
    """An invalid entry of claims.yaml; names the file, the claim id and the field."""

    def __init__(self, source: str, claim_id: str, field_name: str, message: str) -> None:
        super().__init__(f"{source}: claim {claim_id}: field '{field_name}': {message}")


@dataclass(frozen=True)
class Region:
    """Where the oriented ratio's 95% CI must lie for the claim to hold (open-ended if None)."""

    name: str
    low: float | None
    high: float | None
    text: str

    def describe(self) -> str:
        lo = "0" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{self.name}: 95% CI inside ({lo}, {hi}) [{self.text}]"

    def contains(self, lo: float, hi: float) -> bool:
        return (self.low is None or lo > self.low) and (self.high is None or hi < self.high)

    def disjoint(self, lo: float, hi: float) -> bool:
        return (self.low is not None and hi <= self.low) or (self.high is not None and lo >= self.high)

    @property
    def direction(self) -> int:
        """+1: the region lies above 1 (A higher); -1: below 1; 0: around 1 (an equivalence claim)."""
        if self.low is not None and self.low >= 1.0:
            return 1
        if self.high is not None and self.high <= 1.0:
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
        opposite = hi < 1.0 if self.direction > 0 else lo > 1.0
        holds = lo > 1.0 if self.direction > 0 else hi < 1.0
        if opposite:
            return "contradicted", "entirely on the other side of 1"
        if holds:
            return "direction holds, size not", f"on the claimed side of 1, not inside {self.name}"
        return "inconclusive", "across 1"


@dataclass(frozen=True)
class Side:
    framework: str
    modes: tuple[str, ...]  # empty: every mode

    def matches(self, framework: str, mode: str) -> bool:
        return framework == self.framework and (not self.modes or mode in self.modes)

    def describe(self) -> str:
        return self.framework + (f" ({'|'.join(self.modes)})" if self.modes else "")


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
        """The sides as compared under the claim's contrast (defaults: each framework's default mode)."""
        if self.contrast != "defaults":
            return self.a, self.b
        return (Side(self.a.framework, (C.DEFAULT_MODES[self.a.framework],)),
                Side(self.b.framework, (C.DEFAULT_MODES[self.b.framework],)))

    @property
    def ratio_definition(self) -> str:
        label = "throughput (samples/s)" if self.metric == "throughput" else (
            METRICS[self.metric].label if self.metric in METRICS else self.metric)
        a, b = self.sides()
        return f"{label}: {a.describe()} / {b.describe()} ({self.contrast}), geometric mean over cells"


# ---------------------------------------------------------------- loading and validation
def _region(source: str, cid: str, name: str, spec: Any) -> Region:
    fld = f"threshold {name}" if name else "threshold"
    if not isinstance(spec, dict):
        raise ClaimError(source, cid, fld, "must be a mapping with above|below|within and text")
    unknown = set(spec) - {"above", "below", "within", "text"}
    if unknown:
        raise ClaimError(source, cid, fld, f"unknown key(s) {sorted(unknown)}; allowed: above, below, within, text")
    if not isinstance(spec.get("text"), str) or not spec["text"].strip():
        raise ClaimError(source, cid, fld, "needs 'text' stating the operational threshold")
    low, high = spec.get("above"), spec.get("below")
    if "within" in spec:
        w = spec["within"]
        if low is not None or high is not None or not (isinstance(w, list) and len(w) == 2):
            raise ClaimError(source, cid, fld, "'within' is a [low, high] pair and excludes above/below")
        low, high = w
    for v in (low, high):
        if v is not None and not (isinstance(v, (int, float)) and v > 0):
            raise ClaimError(source, cid, fld, f"bounds are positive ratios, got {v!r}")
    if low is None and high is None:
        raise ClaimError(source, cid, fld, "needs above, below or within")
    if low is not None and high is not None and not low < high:
        raise ClaimError(source, cid, fld, f"low {low} must be below high {high}")
    return Region(name or "threshold", None if low is None else float(low),
                  None if high is None else float(high), spec["text"].strip())


def _side(source: str, cid: str, name: str, spec: Any) -> Side:
    if not isinstance(spec, dict) or spec.get("framework") not in C.FRAMEWORKS:
        raise ClaimError(source, cid, name, f"needs framework: one of {', '.join(C.FRAMEWORKS)}")
    unknown = set(spec) - {"framework", "mode"}
    if unknown:
        raise ClaimError(source, cid, name, f"unknown key(s) {sorted(unknown)}; allowed: framework, mode")
    modes = spec.get("mode", [])
    modes = [modes] if isinstance(modes, str) else modes
    allowed = C.MODES[spec["framework"]]
    bad = [m for m in modes if m not in allowed]
    if bad or not isinstance(modes, list):
        raise ClaimError(source, cid, f"{name}.mode", f"{bad or modes!r} not in {', '.join(allowed)}")
    return Side(spec["framework"], tuple(modes))


def _filter(source: str, cid: str, spec: Any) -> dict[str, Any]:
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise ClaimError(source, cid, "filter", "must be a mapping of cell field -> allowed values")
    out: dict[str, Any] = {}
    for key, value in spec.items():
        fld = f"filter.{key}"
        if key in _STRING_FILTERS:
            values = [value] if isinstance(value, str) else value
            allowed = _STRING_FILTERS[key]
            if not isinstance(values, list) or not values or any(v not in allowed for v in values):
                raise ClaimError(source, cid, fld, f"{value!r}: allowed values {', '.join(allowed)}")
            out[key] = tuple(values)
        elif key in _INT_FILTERS:
            if value == "largest" and key == "batch_size":
                out[key] = "largest"
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
        if contrast == "defaults" and (a.modes or b.modes or a.framework == b.framework):
            raise ClaimError(source, cid, "contrast", "defaults compares two frameworks in their default modes "
                                                      "(constants.DEFAULT_MODES): leave a.mode and b.mode out, or "
                                                      "use as-stated")
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
def _passes(claim: Claim, row: dict[str, Any]) -> bool:
    for key, allowed in claim.filter.items():
        value = row[key]
        if allowed == "largest":
            continue
        if isinstance(allowed, dict):
            if value < allowed.get("min", value) or value > allowed.get("max", value):
                return False
        elif value not in allowed:
            return False
    return True


def _largest_batch(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep, per workload (key fields except batch_size), the rows at its largest batch size."""
    others = [k for k in KEY_FIELDS if k != "batch_size"]
    top: dict[tuple, int] = {}
    for r in rows:
        key = tuple(r[k] for k in others)
        top[key] = max(top.get(key, 0), r["batch_size"])
    return [r for r in rows if r["batch_size"] == top[tuple(r[k] for k in others)]]


def _orientation(claim: Claim, row: dict[str, Any]) -> int:
    """+1 if the row's A/B is the claim's A/B, -1 if reversed, 0 if it does not match the sides."""
    a, b = claim.sides()
    if a.matches(row["framework_a"], row["mode_a"]) and b.matches(row["framework_b"], row["mode_b"]):
        return 1
    if a.matches(row["framework_b"], row["mode_b"]) and b.matches(row["framework_a"], row["mode_a"]):
        return -1
    return 0


def _describe_filter(claim: Claim) -> str:
    return ", ".join(f"{k}={'|'.join(map(str, v)) if isinstance(v, tuple) else v}"
                     for k, v in claim.filter.items()) or "all cells"


def _untestable(claim: Claim, runs: pl.DataFrame, where: str) -> str | None:
    """Why the data cannot test this claim at all (independent of comparisons), or None."""
    ok = runs.filter(pl.col("status") == "ok") if "status" in runs.columns else runs
    if "multi_worker" in claim.requires:
        if "workers" not in runs.columns or ok.filter(pl.col("workers") > 1).height == 0:
            return f"needs a multi-worker grid: no multi-worker runs {where}"
        return "multi-worker analysis is not implemented in fwbench.stats yet"
    if claim.metric == "accuracy":
        if "kind" not in runs.columns or ok.filter(pl.col("kind") == "accuracy").height == 0:
            return f"needs accuracy runs: none {where}"
        return ("an accuracy claim is judged from accuracy_runs by fwbench.stats.accuracy (c08_verdict), "
                "not from speed comparisons")
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
    n_a = sum(a.matches(r["framework"], r["mode"]) for r in cells)
    n_b = sum(b.matches(r["framework"], r["mode"]) for r in cells)
    return (f"no comparable cells {where}: {n_a} cell(s) with ok runs match A ({a.describe()}) and "
            f"{n_b} match B ({b.describe()}) under {_describe_filter(claim)}; a comparison needs both "
            f"at the same model/size/phase/batch/seq_len/device/threads/dtype")


def _oriented_ci(row: dict[str, Any], orientation: float) -> tuple[float, float]:
    """A comparison's ratio CI in the claim's orientation (orientation -1 inverts the ratio)."""
    lo, hi = row["ratio_low"], row["ratio_high"]
    return (lo, hi) if orientation > 0 else (1.0 / hi, 1.0 / lo)


def _opposite_cells(usable: list[tuple[dict[str, Any], int]], sign: float) -> str | None:
    """Which cells have CIs entirely above 1 and which entirely below, when both kinds exist (else None)."""
    above, below = [], []
    for r, o in usable:
        lo, hi = _oriented_ci(r, sign * o)
        pair = f"{r['cell_id_a']}/{r['cell_id_b']}"
        if lo > 1.0:
            above.append(f"{pair} [{lo:.2f}, {hi:.2f}]")
        elif hi < 1.0:
            below.append(f"{pair} [{lo:.2f}, {hi:.2f}]")
    if not (above and below):
        return None
    return f"above 1: {', '.join(above)}; below 1: {', '.join(below)}"


def _dropped_pairs(rows: list[dict[str, Any]]) -> str | None:
    """The matching cell pairs a claim left out for too few usable runs, with their run counts."""
    return "; ".join(f"{r['cell_id_a']}/{r['cell_id_b']} ({r['framework_a']} {r['mode_a']}: {r['n_a']} runs, "
                     f"{r['framework_b']} {r['mode_b']}: {r['n_b']} runs)" for r in rows) or None


def evaluate_claim(claim: Claim, scope: str, runs: pl.DataFrame, comps: Comparisons,
                   seed: int = SEED) -> dict[str, Any]:
    """The verdict row of one claim in one scope (a system_id or 'pooled')."""
    where = "in the dataset" if scope == "pooled" else f"from system {scope}"
    row: dict[str, Any] = {
        "claim_id": claim.id, "claim": claim.text, "source": claim.source, "tests": claim.tests,
        "system_id": scope, "metric": claim.metric, "ratio_definition": claim.ratio_definition,
        "n_cells": 0, "cells": None, "n_runs": 0, "effect": math.nan, "effect_low": math.nan,
        "effect_high": math.nan, "ci_method": None, "threshold": claim.threshold.describe(),
        "verdict": "not testable here", "reason": None, "note": claim.note, "pairs_dropped": 0,
        "dropped_pairs": None,
    }
    scope_runs = in_scope(runs, scope)
    reason = _untestable(claim, scope_runs, where)
    if reason:
        return {**row, "reason": reason}
    base_metric = "step_time" if claim.metric == "throughput" else claim.metric
    table = comps.table.filter((pl.col("system_id") == scope) & (pl.col("metric") == base_metric))
    matched = [(r, o) for r in table.iter_rows(named=True) if _passes(claim, r) and (o := _orientation(claim, r))]
    if claim.filter.get("batch_size") == "largest":
        keep = {id(r) for r in _largest_batch([r for r, _ in matched])}
        matched = [(r, o) for r, o in matched if id(r) in keep]
    if not matched:
        return {**row, "reason": _no_cells_reason(claim, scope_runs, where)}
    usable = [(r, o) for r, o in matched if r["comparison_id"] in comps.log_replicates]
    dropped = [r for r, _ in matched if r["comparison_id"] not in comps.log_replicates]
    row.update(pairs_dropped=len(dropped), dropped_pairs=_dropped_pairs(dropped))
    if not usable:
        return {**row, "n_cells": 0, "reason": f"{len(matched)} matching cell pair(s) {where}, but none has "
                                                f">= {MIN_RUNS} usable runs per side"}
    sign = -1.0 if claim.metric == "throughput" else 1.0
    logs = [sign * o * math.log(r["ratio"]) for r, o in usable]
    reps = [sign * o * comps.log_replicates[r["comparison_id"]] for r, o in usable]
    ci = geomean_ci(reps, logs, seed=seed)
    runs_per_cell = {r["cell_id_a"]: r["n_a"] for r, _ in usable} | {r["cell_id_b"]: r["n_b"] for r, _ in usable}
    verdict, how = claim.threshold.verdict(ci.low, ci.high)
    split = _opposite_cells(usable, sign)
    if split:
        verdict, how = "depends on the cell", f"{how}, but per-cell effects go both ways ({split})"
    reason = (f"effect {ci.estimate:.3f} [95% CI {ci.low:.3f}, {ci.high:.3f}] over {len(usable)} cell pair(s): "
              f"CI {how}"
              + (f"; {len(dropped)} matching pair(s) left out, < {MIN_RUNS} usable runs on a side" if dropped else ""))
    return {**row, "n_cells": len(usable), "n_runs": int(sum(runs_per_cell.values())),
            "cells": ";".join(f"{r['cell_id_a']}/{r['cell_id_b']}" for r, _ in usable),
            "effect": ci.estimate, "effect_low": ci.low, "effect_high": ci.high, "ci_method": ci.method,
            "verdict": verdict, "reason": reason}


def evaluate_claims(claims: list[Claim], runs: pl.DataFrame, comps: Comparisons, *, seed: int = SEED) -> pl.DataFrame:
    """One row per claim and scope (every system_id, then 'pooled'), in claims-file order."""
    rows = [evaluate_claim(c, scope, runs, comps, seed) for c in claims for scope in scopes(runs)]
    schema = {"claim_id": pl.String, "claim": pl.String, "source": pl.String, "tests": pl.String,
              "system_id": pl.String, "metric": pl.String, "ratio_definition": pl.String, "n_cells": pl.Int64,
              "cells": pl.String, "n_runs": pl.Int64, "effect": pl.Float64, "effect_low": pl.Float64,
              "effect_high": pl.Float64, "ci_method": pl.String, "threshold": pl.String, "verdict": pl.String,
              "reason": pl.String, "note": pl.String, "pairs_dropped": pl.Int64, "dropped_pairs": pl.String}
    return pl.DataFrame(rows, schema=schema)
