"""Compile break-even: after how many steps a compiled mode has paid for its first step.

A compiled mode (torch `compile`; TensorFlow `function`, `xla`) pays a large first step (trace,
compile) and then runs faster steps than the same framework's `eager` mode on the same workload.
With cumulative time after n steps T(n) = first_step + (n - 1) x step, the break-even n* is the
smallest integer n >= 1 from which T_compiled(n) <= T_eager(n) for every larger n:

    n* = max(1, ceil(1 + (first_compiled - first_eager) / (step_eager - step_compiled)))

when the compiled step is faster; n* = 1 when the steps tie and the compiled first step is no
dearer; otherwise never (+inf in the numeric columns, so Parquet and DuckDB keep it; the note says
"never"). Step time is the median of run medians of the steady state (ms), first step the median
of first steps (s): cold (a fresh start) for both sides, and, where the compiled mode has runs with a
warm on-disk compile cache (torch.compile), a second row (`compile_cache` warm) with those; a side
needs MIN_RUNS usable runs of each, else its row has no estimate.

CI: percentile over bootstrap replicates of n*, each computed from one replicate of each of the
four medians. The replicates are the comparisons' own (fwbench.stats.comparisons: hierarchical for
step time, runs for first step, campaigns first where a cell spans enough campaigns; same seeds,
and eager's replicates are shared by all compiled modes of its workload). Order statistics
(inverted CDF, no interpolation) keep +inf, so an upper bound may be "never"; `never_share` is the
share of replicates in which the compiled mode never pays off.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from fwbench import constants as C
from fwbench.stats.bootstrap import CONFIDENCE, N_RESAMPLES, SEED
from fwbench.stats.comparisons import MIN_RUNS, CellData
from fwbench.stats.comparisons import empty_table as _comparisons_empty
from fwbench.stats.metrics import (CELL_COLUMNS, KEY_FIELDS, METRICS, Metric, implementation_order, in_scope, scopes,
                                   with_cell_defaults)

EAGER = "eager"
STEP, FIRST = METRICS["step_time"], METRICS["first_step"]
#: The compiled mode's first step per compile-cache state: a fresh start (cold or no cache) or a warm
#: on-disk cache (torch.compile's inductor cache); eager's first step is always a fresh start.
FIRST_BY_CACHE = {"cold": FIRST, "warm": METRICS["first_step_warm"]}
# 1 + extra/saving that lands on an integer up to rounding (101.00000000000001) is that integer.
_REL_TOL = 1e-9


def break_even_steps(first_eager_s: ArrayLike, first_compiled_s: ArrayLike, step_eager_ms: ArrayLike,
                     step_compiled_ms: ArrayLike) -> np.ndarray:
    """n* (float; +inf for never, NaN where an input is NaN), elementwise over arrays or scalars."""
    fe, fc, se, sc = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in
                                           (first_eager_s, first_compiled_s, step_eager_ms, step_compiled_ms)))
    saving_s = (se - sc) / 1000.0
    extra_s = fc - fe
    with np.errstate(divide="ignore", invalid="ignore"):
        x = 1.0 + extra_s / saving_s
        n = np.maximum(1.0, np.ceil(x - _REL_TOL * np.maximum(1.0, np.abs(x))))
    out = np.where(saving_s > 0, n, np.where((saving_s == 0) & (extra_s <= 0), 1.0, math.inf))
    return np.where(np.isnan(fe + fc + se + sc), math.nan, out)


def percentile_ci(replicates: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval by order statistics (no interpolation, so +inf bounds survive)."""
    alpha = (1 - confidence) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha], method="inverted_cdf")
    return float(low), float(high)


def compiled_modes(framework: str) -> tuple[str, ...]:
    return tuple(m for m in C.MODES.get(framework, ()) if m != EAGER)


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _side(data: CellData, cell_id: str, first: Metric = FIRST) -> dict:
    """A cell's usable-run counts and medians of step time and first step (cold, or warm cache)."""
    steps, firsts = data.values[cell_id, STEP.name][1], data.values[cell_id, first.name][1]
    return {"n_step": len(steps), "n_first": len(firsts), "step_ms": _median(steps), "first_s": _median(firsts)}


def _insufficient_note(mode: str, eager: dict, compiled: dict) -> str | None:
    counts = (eager["n_step"], compiled["n_step"], eager["n_first"], compiled["n_first"])
    if min(counts) >= MIN_RUNS:
        return None
    return (f"fewer than {MIN_RUNS} usable runs on a side (step_ms: eager {counts[0]}, {mode} {counts[1]}; "
            f"first_step_s: eager {counts[2]}, {mode} {counts[3]}): no CI (the estimate, if any, is descriptive)")


def _estimate(data: CellData, eager_id: str, compiled_id: str, eager: dict, compiled: dict, mode: str,
              first: Metric) -> dict:
    """Point estimate, percentile CI, never share, method and note of one compiled-vs-eager pair."""
    point = float(break_even_steps(eager["first_s"], compiled["first_s"], eager["step_ms"], compiled["step_ms"]))
    reps = break_even_steps(data.replicates(eager_id, FIRST), data.replicates(compiled_id, first),
                            data.replicates(eager_id, STEP), data.replicates(compiled_id, STEP))
    low, high = percentile_ci(reps)
    never_share = float(np.mean(np.isinf(reps)))
    method = (f"percentile of replicate n* (step time: {data.method(eager_id, compiled_id, STEP)}; "
              f"first step: {data.method(eager_id, compiled_id, first)})")
    if math.isinf(point):
        note = (f"never: {mode} step not faster than eager ({compiled['step_ms']:.4g} vs "
                f"{eager['step_ms']:.4g} ms)")
    elif math.isinf(high):
        note = f"CI upper bound never: {mode} never pays off in {never_share:.1%} of replicates"
    else:
        note = None
    return {"break_even_steps": point, "break_even_low": low, "break_even_high": high,
            "never_share": never_share, "ci_method": method, "note": note}


def _row(scope: str, data: CellData, eager_cell: dict, compiled_cell: dict, cache: str) -> dict:
    mode, first = compiled_cell["mode"], FIRST_BY_CACHE[cache]
    eager, compiled = _side(data, eager_cell["cell_id"]), _side(data, compiled_cell["cell_id"], first)
    row = {
        "system_id": scope, **{k: eager_cell[k] for k in KEY_FIELDS}, "framework": eager_cell["framework"],
        "backend": eager_cell["backend"],
        "mode_compiled": mode, "mode_eager": EAGER, "compile_cache": cache,
        "cell_id_compiled": compiled_cell["cell_id"], "cell_id_eager": eager_cell["cell_id"],
        "n_compiled": min(compiled["n_step"], compiled["n_first"]), "n_eager": min(eager["n_step"], eager["n_first"]),
        "n_step_compiled": compiled["n_step"], "n_step_eager": eager["n_step"],
        "n_first_compiled": compiled["n_first"], "n_first_eager": eager["n_first"],
        "step_ms_eager": eager["step_ms"], "step_ms_compiled": compiled["step_ms"],
        "first_step_s_eager": eager["first_s"], "first_step_s_compiled": compiled["first_s"],
        "extra_first_step_s": _diff(compiled["first_s"], eager["first_s"]),
        "saving_ms_per_step": _diff(eager["step_ms"], compiled["step_ms"]),
        "break_even_steps": None, "break_even_low": None, "break_even_high": None, "never_share": None,
        "ci_method": None, "note": _insufficient_note(mode, eager, compiled),
    }
    if row["note"] is None:
        row.update(_estimate(data, eager_cell["cell_id"], compiled_cell["cell_id"], eager, compiled, mode, first))
    elif min(eager["n_step"], eager["n_first"], compiled["n_step"], compiled["n_first"]) >= 1:
        # descriptive only: the point estimate from the medians, no CI (e.g. one cold compile per campaign)
        row["break_even_steps"] = float(break_even_steps(eager["first_s"], compiled["first_s"], eager["step_ms"],
                                                         compiled["step_ms"]))
    return row


def _pairs(cells: pl.DataFrame) -> list[tuple[dict, dict]]:
    """(eager cell, compiled cell) of each workload, framework and Keras backend, natively run, in vocabulary
    order (an exported runtime has no eager counterpart of its own)."""
    pairs = []
    native = with_cell_defaults(cells).filter(pl.col("runtime") == C.NATIVE_RUNTIME)
    for _, group in native.sort(list(KEY_FIELDS)).group_by(list(KEY_FIELDS), maintain_order=True):
        by_mode = {(r["framework"], r["backend"], r["mode"]): r for r in group.iter_rows(named=True)}
        for framework, backend in dict.fromkeys((fw, be) for fw, be, _ in sorted(by_mode, key=_vocabulary)):
            eager = by_mode.get((framework, backend, EAGER))
            if eager is not None:
                pairs.extend((eager, by_mode[framework, backend, m]) for m in compiled_modes(framework)
                             if (framework, backend, m) in by_mode)
    return pairs


def _vocabulary(key: tuple[str, str, str]) -> tuple[int, int, int, int]:
    framework, backend, mode = key
    return implementation_order({"framework": framework, "backend": backend, "mode": mode})


def _with_metric_columns(per_run: pl.DataFrame) -> pl.DataFrame:
    """Null columns for the metrics break-even does not read (the shared cell data reads every metric)."""
    missing = [m.column for m in METRICS.values() if m.column not in per_run.columns]
    return per_run.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in missing)


def break_even_table(per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray], *, seed: int = SEED,
                     n_resamples: int = N_RESAMPLES) -> pl.DataFrame:
    """One row per scope x workload x framework x compiled mode: its break-even step count vs eager.

    `per_run` is fwbench.stats.metrics.run_table (only its step_ms and first_step_s metrics are read);
    `steps_by_run` the steady-state steps of each run (fwbench.stats.metrics.steady_steps).
    """
    per_run, rows = _with_metric_columns(per_run), []
    for scope in scopes(per_run):
        table = in_scope(per_run, scope)
        cells = with_cell_defaults(table).select(CELL_COLUMNS).unique(subset=["cell_id"], keep="first")
        data = CellData(table, scope, steps_by_run, seed, n_resamples)
        for eager, compiled in _pairs(cells):
            rows.append(_row(scope, data, eager, compiled, "cold"))
            if len(data.values[compiled["cell_id"], FIRST_BY_CACHE["warm"].name][1]):
                rows.append(_row(scope, data, eager, compiled, "warm"))
    return pl.DataFrame(rows, schema=empty_table().schema) if rows else empty_table()


def empty_table() -> pl.DataFrame:
    """The break-even schema with no rows (no workload has both eager and a compiled mode)."""
    s, f, i = pl.String, pl.Float64, pl.Int64
    key_types = _comparisons_empty().schema
    schema = {"system_id": s, **{k: key_types[k] for k in KEY_FIELDS}, "framework": s, "backend": s,
              "mode_compiled": s, "mode_eager": s, "compile_cache": s, "cell_id_compiled": s, "cell_id_eager": s,
              "n_compiled": i, "n_eager": i, "n_step_compiled": i, "n_step_eager": i,
              "n_first_compiled": i, "n_first_eager": i,
              "step_ms_eager": f, "step_ms_compiled": f, "first_step_s_eager": f, "first_step_s_compiled": f,
              "extra_first_step_s": f, "saving_ms_per_step": f,
              "break_even_steps": f, "break_even_low": f, "break_even_high": f, "never_share": f,
              "ci_method": s, "note": s}
    return pl.DataFrame(schema=schema)
