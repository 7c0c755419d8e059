"""Which runtime? Per inference workload, the fastest way to serve the model and those tied with it.

Two scenarios, in the manner of MLPerf's SingleStream and Offline: at batch 1 a request's latency
(the per-run p99 of the measured steps: runs.p99_ms), at larger batches throughput (the per-run
steady-state step time: lower is faster). Candidates are every framework, mode and inference runtime
(fwbench.constants.RUNTIMES: native modes and exported models) measured on the workload with at least
MIN_RUNS usable runs. The fastest has the lowest median; another candidate is tied with it when the
95% bootstrap CI (runs resampled, fwbench.stats.bootstrap) of its ratio to the fastest reaches 1.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from fwbench import constants as C
from fwbench.stats.bootstrap import TWO_SAMPLE, ratio_from_medians, run_medians
from fwbench.stats.comparisons import MIN_RUNS, key_seed
from fwbench.stats.metrics import in_scope, scopes, with_cell_defaults

#: scenario -> (per-run column, what it measures)
SCENARIOS: dict[str, tuple[str, str]] = {
    "latency": ("p99_ms", "p99 request latency at batch 1 (ms)"),
    "throughput": ("step_ms", "steady-state step time (ms; throughput = batch x 1000 / it)"),
}
WORKLOAD: tuple[str, ...] = ("model", "size", "batch_size", "seq_len", "device", "threads", "dtype")
CANDIDATE: tuple[str, ...] = ("framework", "backend", "mode", "runtime")


def scenario_of(batch_size: int) -> str:
    """latency at batch 1 (a single stream of requests), throughput otherwise."""
    return "latency" if batch_size == 1 else "throughput"


def _replicates(values: np.ndarray, key: str, seed: int, n_resamples: int) -> np.ndarray:
    rng = np.random.default_rng(key_seed(seed, key))
    return run_medians(values, n_resamples, rng)


def which_runtime(per_run: pl.DataFrame, *, seed: int, n_resamples: int) -> pl.DataFrame:
    """One row per scope, inference workload and candidate (see the module docstring); empty without
    inference runs."""
    per_run = with_cell_defaults(per_run)
    need = {*WORKLOAD, *CANDIDATE, "phase", "variant", "cell_id", "step_ms", "p99_ms", "system_id"}
    if not need <= set(per_run.columns):
        return empty_table()
    infer = per_run.filter((pl.col("phase") == "infer") & (pl.col("variant") == C.STANDARD_VARIANT))
    rows = []
    for scope in scopes(infer) if infer.height else []:
        table = in_scope(infer, scope)
        for workload, group in table.group_by(list(WORKLOAD), maintain_order=True):
            key = dict(zip(WORKLOAD, workload))
            scenario = scenario_of(int(key["batch_size"]))
            column = SCENARIOS[scenario][0]
            candidates = []
            for (cid,), runs in group.sort("cell_id").group_by(["cell_id"], maintain_order=True):
                values = runs.get_column(column).drop_nulls().to_numpy().astype(float)
                if len(values) >= MIN_RUNS:
                    candidates.append((cid, runs.row(0, named=True), values))
            if len(candidates) < 1:
                continue
            medians = {cid: float(np.median(v)) for cid, _, v in candidates}
            best = min(candidates, key=lambda c: (medians[c[0]], c[0]))
            best_reps = _replicates(best[2], f"{scope}:{column}:{best[0]}", seed, n_resamples)
            ranked = sorted(candidates, key=lambda c: (medians[c[0]], c[0]))
            for rank, (cid, first, values) in enumerate(ranked, start=1):
                reps = _replicates(values, f"{scope}:{column}:{cid}", seed, n_resamples)
                ratio = ratio_from_medians(medians[cid], medians[best[0]], reps, best_reps, TWO_SAMPLE)
                low, high = (1.0, 1.0) if cid == best[0] else (ratio.low, ratio.high)
                rows.append({
                    "system_id": scope, **key, "scenario": scenario, "metric": column,
                    **{k: first[k] for k in CANDIDATE}, "cell_id": cid, "n_runs": len(values),
                    "median": medians[cid], "median_low": float(np.quantile(reps, 0.025)),
                    "median_high": float(np.quantile(reps, 0.975)),
                    "throughput_sps": (key["batch_size"] * 1000.0 / medians[cid]
                                       if column == "step_ms" and medians[cid] > 0 else math.nan),
                    "rank": rank, "ratio_to_fastest": ratio.ratio, "ratio_low": low, "ratio_high": high,
                    "fastest": cid == best[0], "tied_with_fastest": cid == best[0] or low <= 1.0,
                })
    return pl.DataFrame(rows, schema=SCHEMA) if rows else empty_table()


SCHEMA: dict[str, pl.DataType] = {
    "system_id": pl.String, "model": pl.String, "size": pl.String, "batch_size": pl.Int64, "seq_len": pl.Int64,
    "device": pl.String, "threads": pl.Int64, "dtype": pl.String, "scenario": pl.String, "metric": pl.String,
    "framework": pl.String, "backend": pl.String, "mode": pl.String, "runtime": pl.String, "cell_id": pl.String,
    "n_runs": pl.Int64,
    "median": pl.Float64, "median_low": pl.Float64, "median_high": pl.Float64, "throughput_sps": pl.Float64,
    "rank": pl.Int64, "ratio_to_fastest": pl.Float64, "ratio_low": pl.Float64, "ratio_high": pl.Float64,
    "fastest": pl.Boolean, "tied_with_fastest": pl.Boolean}


def empty_table() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)
