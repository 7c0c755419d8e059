"""The paper's generated numbers.json and tables.json are byte-stable: the same runs give the same
bytes whatever order the database returns rows in, even when rows tie (equal counts, speeds, throughputs)."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import polars as pl
import pytest

from fwbench.figures.data import FigureData
from fwbench.report.numbers import compute_numbers
from fwbench.report.tables import compute_tables, exclusions_table

pytestmark = pytest.mark.xdist_group("figures")  # shares the figures_db session fixture with the figure tests


def generated(data: FigureData) -> str:
    """numbers.json and tables.json as written by fwbench.report.paper.write_generated (json.dumps)."""
    return json.dumps({"numbers": compute_numbers(data), "tables": compute_tables(data)}, indent=2)


def shuffled(data: FigureData, seed: int) -> FigureData:
    """The same tables with their rows in another order."""
    return replace(data, **{f.name: getattr(data, f.name).sample(fraction=1.0, shuffle=True, seed=seed)
                            for f in fields(data) if getattr(data, f.name).height})


def with_ties(data: FigureData) -> FigureData:
    """Exclusion reasons tied in count, every speed ratio equal, every cell equally fast."""
    reasons = ["no steady state", "drift", "timeout", "no steady state", "drift", "timeout"]
    excluded = data.steady_state["run_id"].sort().head(len(reasons)).to_list()
    steady = data.steady_state.with_columns(
        ok=pl.when(pl.col("run_id").is_in(excluded)).then(False).otherwise(pl.col("ok")),
        reason=pl.col("run_id").replace_strict(dict(zip(excluded, reasons)), default=pl.col("reason")))
    comparisons = data.comparisons.with_columns(ratio=pl.lit(0.8), ratio_low=pl.lit(0.7), ratio_high=pl.lit(0.9))
    cell_stats = data.cell_stats.with_columns(throughput_sps_median=pl.lit(100.0), throughput_sps_low=pl.lit(90.0),
                                              throughput_sps_high=pl.lit(110.0))
    return replace(data, steady_state=steady, comparisons=comparisons, cell_stats=cell_stats)


@pytest.fixture(scope="module")
def data(figures_db) -> FigureData:
    return with_ties(FigureData.from_db(figures_db("A")))  # helpers.figures_data via conftest.py


def test_generated_files_do_not_depend_on_row_order(data: FigureData) -> None:
    expected = generated(data)
    assert generated(data) == expected  # nothing run-dependent (time, randomness) either
    for seed in range(4):
        assert generated(shuffled(data, seed)) == expected


def test_tied_exclusion_reasons_are_ordered_by_name(data: FigureData) -> None:
    rows = exclusions_table(data)["rows"]
    assert [(r[0], r[1]) for r in rows] == [("drift", "2"), ("no steady state", "2"), ("timeout", "2")]
    for seed in range(4):
        assert exclusions_table(shuffled(data, seed))["rows"] == rows
