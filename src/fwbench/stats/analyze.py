"""The whole analysis on one dataset: runs/steps frames in, the result tables out.

`analyze` is pure (frames in, frames out, fixed seed); `write_analysis` stores every table in the
results database and as Parquet, plus the claims verdict table as JSON and CSV for the paper.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import polars as pl

from fwbench.stats.bootstrap import N_RESAMPLES, SEED
from fwbench.stats.cells import cell_stats
from fwbench.stats.claims import Claim, evaluate_claims, load_claims
from fwbench.stats.comparisons import EQUIVALENCE_MARGIN, compare
from fwbench.stats.metrics import run_table, steady_state_table, steady_steps
from fwbench.stats.outliers import tukey_outliers

REQUIRED_RUN_COLUMNS: tuple[str, ...] = (
    "run_id", "system_id", "cell_id", "repetition", "framework", "mode", "model", "size", "phase",
    "batch_size", "seq_len", "device", "threads", "dtype", "status", "error", "first_step_s",
    "peak_rss_above_import_mb", "device_peak_mb",
)
REQUIRED_STEP_COLUMNS: tuple[str, ...] = ("run_id", "step_index", "phase", "ms")


@dataclass
class Analysis:
    """Every table `fwbench analyze` writes (one DuckDB table / Parquet file each)."""

    steady_state: pl.DataFrame
    cell_stats: pl.DataFrame
    comparisons: pl.DataFrame
    claims: pl.DataFrame
    outliers: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check_columns(df: pl.DataFrame, required: tuple[str, ...], name: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks column(s) {', '.join(missing)}; needs {', '.join(required)}")


def analyze(runs: pl.DataFrame, steps: pl.DataFrame, claims: list[Claim] | None = None, *,
            seed: int = SEED, n_resamples: int = N_RESAMPLES, margin: float = EQUIVALENCE_MARGIN) -> Analysis:
    """Steady state -> per-run table -> cell stats, comparisons, outliers -> claim verdicts."""
    _check_columns(runs, REQUIRED_RUN_COLUMNS, "runs")
    _check_columns(steps, REQUIRED_STEP_COLUMNS, "steps")
    claims = load_claims() if claims is None else claims
    steady = steady_state_table(runs, steps)
    per_run = run_table(runs, steady)
    comps = compare(per_run, steady_steps(steps, steady), margin=margin, seed=seed, n_resamples=n_resamples)
    return Analysis(
        steady_state=steady,
        cell_stats=cell_stats(per_run, seed=seed, n_resamples=n_resamples),
        comparisons=comps.table,
        claims=evaluate_claims(claims, per_run, comps, seed=seed),
        outliers=tukey_outliers(per_run),
    )


def write_analysis(result: Analysis, db_path: str | os.PathLike[str] | None,
                   out_dir: str | os.PathLike[str]) -> list[Path]:
    """Replace the analysis tables in the database, write Parquet + claims.json/.csv to out_dir."""
    from fwbench import dataset

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = dataset.connect(db_path)
    try:
        # one cursor per table: a write leaves the connection's last result open
        written = [dataset.write_table(con.cursor(), name, df, out) for name, df in result.tables().items()]
    finally:
        con.close()
    claims = result.claims
    claims.write_csv(out / "claims.csv")
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in claims.to_dicts()]
    (out / "claims.json").write_text(json.dumps(rows, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return [p for p in written if p is not None] + [out / "claims.csv", out / "claims.json"]
