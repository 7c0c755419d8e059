"""The tables figures read, loaded once from results.duckdb into polars frames.

A table the database does not (yet) hold loads as an empty frame, so each figure decides for itself
whether it can be drawn and otherwise renders a "no data" placeholder naming the missing table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import polars as pl

#: Tables and views read from the database (written by fwbench.dataset and fwbench.stats).
TABLES: tuple[str, ...] = ("runs", "run_summary", "steps", "systems", "campaigns", "steady_state", "cell_stats",
                           "comparisons", "claims", "outliers", "accuracy_runs", "accuracy_epochs", "variance",
                           "reproducibility", "campaign_claims", "machine_flags", "protocol_sizing", "sensitivity",
                           "break_even", "layer_ablation", "which_runtime", "framework_contrasts",
                           "isa_effects", "claim_predictions", "loo_coverage", "ratio_variance", "aa_checks")


def _empty() -> pl.DataFrame:
    return pl.DataFrame()


@dataclass(frozen=True)
class FigureData:
    """One frame per table; absent tables are empty frames (no columns)."""

    runs: pl.DataFrame = field(default_factory=_empty)
    run_summary: pl.DataFrame = field(default_factory=_empty)
    steps: pl.DataFrame = field(default_factory=_empty)
    systems: pl.DataFrame = field(default_factory=_empty)
    campaigns: pl.DataFrame = field(default_factory=_empty)
    steady_state: pl.DataFrame = field(default_factory=_empty)
    cell_stats: pl.DataFrame = field(default_factory=_empty)
    comparisons: pl.DataFrame = field(default_factory=_empty)
    claims: pl.DataFrame = field(default_factory=_empty)
    outliers: pl.DataFrame = field(default_factory=_empty)
    accuracy_runs: pl.DataFrame = field(default_factory=_empty)
    accuracy_epochs: pl.DataFrame = field(default_factory=_empty)
    variance: pl.DataFrame = field(default_factory=_empty)
    reproducibility: pl.DataFrame = field(default_factory=_empty)
    campaign_claims: pl.DataFrame = field(default_factory=_empty)
    machine_flags: pl.DataFrame = field(default_factory=_empty)
    protocol_sizing: pl.DataFrame = field(default_factory=_empty)
    sensitivity: pl.DataFrame = field(default_factory=_empty)
    break_even: pl.DataFrame = field(default_factory=_empty)
    layer_ablation: pl.DataFrame = field(default_factory=_empty)
    which_runtime: pl.DataFrame = field(default_factory=_empty)
    framework_contrasts: pl.DataFrame = field(default_factory=_empty)
    isa_effects: pl.DataFrame = field(default_factory=_empty)
    claim_predictions: pl.DataFrame = field(default_factory=_empty)
    loo_coverage: pl.DataFrame = field(default_factory=_empty)
    ratio_variance: pl.DataFrame = field(default_factory=_empty)
    aa_checks: pl.DataFrame = field(default_factory=_empty)

    @classmethod
    def from_db(cls, db: str | Path) -> "FigureData":
        """Read every table in TABLES that exists in the database (fwbench.dataset.load, read-only)."""
        from fwbench import dataset

        path = Path(db)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no results database; run `fwbench ingest` and `fwbench analyze` first")
        available = set(dataset.load(path))  # names only: frames are lazy
        frames = dataset.load(path, tables=[t for t in TABLES if t in available])
        return cls(**{name: frame.collect() for name, frame in frames.items()})

    def summary(self) -> dict[str, int]:
        """Rows per table, for logs."""
        return {f.name: getattr(self, f.name).height for f in fields(self)}
