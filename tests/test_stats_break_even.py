"""Compile break-even: planted first-step and step costs give the known n*, a slower compiled step
gives "never", a thin cell gives a row without an estimate, and the table is deterministic."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fwbench.stats.bootstrap import CAMPAIGN_LEVEL, HIERARCHICAL, TWO_SAMPLE
from fwbench.stats.break_even import break_even_steps, break_even_table, empty_table
from fwbench.stats.comparisons import MIN_RUNS
from fwbench.stats.metrics import KEY_FIELDS, POOLED
from fwbench.synthetic import base_cell

N_RES = 200
SYSTEM = "host-a"
# Run-level spread with an exact median of 0 (6 runs: the middle two are 0), and step-level spread
# within a run with an exact median of 0 (odd count, centre 0): planted medians are exact.
RUN_SPREAD = np.array([-2.0, -1.0, 0.0, 0.0, 1.0, 2.0])
STEP_SPREAD = np.concatenate([-np.arange(1, 11) * 0.05, [0.0], np.arange(1, 11) * 0.05])


def plant(per_run: list[dict], steps: dict[str, np.ndarray], *, framework: str, mode: str, step_ms: float,
          first_s: float, runs: int = 6, system: str = SYSTEM, campaigns: int = 1) -> None:
    """Append `runs` runs of one cell: run medians step_ms x (1 + 0.2% spread), first steps first_s x
    (1 + 5% spread), each run with 21 steady steps around its median."""
    cell = base_cell(framework=framework, mode=mode)
    spread = np.resize(RUN_SPREAD, runs)
    for i in range(runs):
        run_id = f"{system}-{cell.cell_id}-{i}"
        median = step_ms * (1 + 0.001 * spread[i])
        steps[run_id] = median + STEP_SPREAD * step_ms / 100
        per_run.append({
            "run_id": run_id, "system_id": system, "cell_id": cell.cell_id, **cell.to_dict(),
            "step_ms": median, "first_step_s": first_s * (1 + 0.025 * spread[i]), "first_step_warm_s": None,
            "campaign_id": f"c{i % campaigns}",
        })


def frame(per_run: list[dict]) -> pl.DataFrame:
    """The planted runs as a per-run table (metrics that break-even does not read are left out)."""
    return pl.DataFrame(per_run, infer_schema_length=None).with_columns(pl.col("first_step_warm_s").cast(pl.Float64))


def torch_pair(compile_step_ms: float = 20.0, compile_first_s: float = 3.1, compile_runs: int | None = None,
               runs: int = 6, **kwargs) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """torch eager (first step 0.1 s, step 50 ms) and compile on the same workload."""
    per_run, steps = [], {}
    plant(per_run, steps, framework="torch", mode="eager", step_ms=50.0, first_s=0.1, runs=runs, **kwargs)
    plant(per_run, steps, framework="torch", mode="compile", step_ms=compile_step_ms, first_s=compile_first_s,
          runs=compile_runs or runs, **kwargs)
    return frame(per_run), steps


def row(table: pl.DataFrame, scope: str = SYSTEM, mode: str = "compile") -> dict:
    sub = table.filter((pl.col("system_id") == scope) & (pl.col("mode_compiled") == mode))
    assert sub.height == 1
    return sub.row(0, named=True)


def test_the_formula_and_its_edge_cases() -> None:
    assert break_even_steps(0.1, 3.1, 50.0, 20.0) == 101  # 1 + 3.0 s / 0.030 s, not 102 from rounding
    assert break_even_steps(0.1, 3.1, 20.0, 50.0) == math.inf  # compiled step slower: never
    assert break_even_steps(0.5, 0.1, 50.0, 20.0) == 1  # cheaper first step and faster steps
    assert break_even_steps(0.5, 0.1, 50.0, 50.0) == 1  # tie in steps, cheaper first step: from step 1
    assert break_even_steps(0.1, 0.5, 50.0, 50.0) == math.inf  # tie in steps, dearer first step: never
    assert break_even_steps(0.1, 0.2, 50.0, 49.0) == 101  # 1 + 0.1 / 0.001
    assert break_even_steps(0.1, 0.2005, 50.0, 49.0) == 102  # just past a step boundary rounds up
    assert math.isnan(float(break_even_steps(math.nan, 3.1, 50.0, 20.0)))
    np.testing.assert_array_equal(break_even_steps(0.1, [3.1, 0.1], 50.0, [20.0, 60.0]), [101.0, math.inf])


def test_planted_break_even_is_recovered_with_a_ci_containing_it() -> None:
    per_run, steps = torch_pair()
    table = break_even_table(per_run, steps, n_resamples=N_RES)
    assert table.schema == empty_table().schema
    assert table["system_id"].to_list() == [SYSTEM, POOLED]
    r = row(table)
    assert r["break_even_steps"] == 101
    assert r["break_even_low"] <= 101 <= r["break_even_high"]
    assert 90 < r["break_even_low"] and r["break_even_high"] < 115  # finite and tight with 0.2% step noise
    assert r["step_ms_eager"] == 50.0 and r["step_ms_compiled"] == 20.0
    assert r["first_step_s_eager"] == pytest.approx(0.1) and r["first_step_s_compiled"] == pytest.approx(3.1)
    assert r["extra_first_step_s"] == pytest.approx(3.0) and r["saving_ms_per_step"] == pytest.approx(30.0)
    assert r["never_share"] == 0.0 and r["note"] is None
    assert (r["framework"], r["mode_eager"], r["n_eager"], r["n_compiled"]) == ("torch", "eager", 6, 6)
    assert r["cell_id_eager"] == base_cell().cell_id
    assert r["cell_id_compiled"] == base_cell(mode="compile").cell_id
    assert HIERARCHICAL in r["ci_method"] and TWO_SAMPLE in r["ci_method"]
    assert {k: r[k] for k in KEY_FIELDS} == {k: v for k, v in base_cell().to_dict().items() if k in KEY_FIELDS}
    assert row(table, POOLED)["break_even_steps"] == 101


def test_tensorflow_compares_function_and_xla_each_with_eager_and_a_slower_step_never_pays_off() -> None:
    per_run, steps = [], {}
    plant(per_run, steps, framework="tensorflow", mode="eager", step_ms=50.0, first_s=0.1)
    plant(per_run, steps, framework="tensorflow", mode="function", step_ms=20.0, first_s=3.1)
    plant(per_run, steps, framework="tensorflow", mode="xla", step_ms=60.0, first_s=5.0)
    table = break_even_table(frame(per_run), steps, n_resamples=N_RES)
    assert table.filter(pl.col("system_id") == SYSTEM)["mode_compiled"].to_list() == ["function", "xla"]
    assert row(table, mode="function")["break_even_steps"] == 101
    xla = row(table, mode="xla")
    assert xla["break_even_steps"] == math.inf
    assert xla["break_even_low"] == math.inf and xla["break_even_high"] == math.inf
    assert xla["never_share"] >= 0.99
    assert xla["saving_ms_per_step"] == pytest.approx(-10.0)
    assert xla["note"].startswith("never: xla step not faster than eager")


def test_overlapping_step_times_give_a_never_upper_bound() -> None:
    # compiled step 0.1% faster with a 0.2% run-to-run spread: some replicates never pay off
    per_run, steps = torch_pair(compile_step_ms=49.95, compile_first_s=0.11)
    r = row(break_even_table(per_run, steps, n_resamples=N_RES))
    assert math.isfinite(r["break_even_steps"]) and math.isfinite(r["break_even_low"])
    assert r["break_even_high"] == math.inf
    assert 0.0 < r["never_share"] < 1.0
    assert r["note"].startswith("CI upper bound never")


def test_a_cell_with_fewer_than_min_runs_keeps_its_row_without_a_ci() -> None:
    per_run, steps = torch_pair(compile_runs=MIN_RUNS - 1)
    r = row(break_even_table(per_run, steps, n_resamples=N_RES))
    for col in ("break_even_low", "break_even_high", "never_share", "ci_method"):
        assert r[col] is None
    assert r["break_even_steps"] == pytest.approx(101, abs=15)  # descriptive point estimate from the medians
    assert (r["n_eager"], r["n_compiled"]) == (6, MIN_RUNS - 1)
    assert f"fewer than {MIN_RUNS} usable runs" in r["note"]
    assert f"step_ms: eager 6, compile {MIN_RUNS - 1}" in r["note"]
    assert f"first_step_s: eager 6, compile {MIN_RUNS - 1}" in r["note"]
    assert r["step_ms_compiled"] is not None  # the medians stay descriptive


def test_runs_without_a_cold_first_step_do_not_count_for_it() -> None:
    per_run, steps = torch_pair()
    warm = (pl.col("mode") == "compile") & pl.col("run_id").str.ends_with("-0")
    per_run = per_run.with_columns(pl.when(warm).then(None).otherwise(pl.col("first_step_s")).alias("first_step_s"))
    r = row(break_even_table(per_run, steps, n_resamples=N_RES))
    assert (r["n_step_compiled"], r["n_first_compiled"], r["n_compiled"]) == (6, 5, 5)
    assert math.isfinite(r["break_even_steps"])


def test_the_table_is_deterministic_for_a_seed() -> None:
    per_run, steps = torch_pair(compile_step_ms=49.95, compile_first_s=0.11)
    first = break_even_table(per_run, steps, seed=7, n_resamples=N_RES)
    assert_frame_equal(first, break_even_table(per_run, steps, seed=7, n_resamples=N_RES))
    other = break_even_table(per_run, steps, seed=8, n_resamples=N_RES)
    assert_frame_equal(first.select("break_even_steps"), other.select("break_even_steps"))  # the point is seedless


def test_systems_are_scopes_and_pooled_uses_all_runs() -> None:
    per_run, steps = [], {}
    for system in ("host-a", "host-b"):
        plant(per_run, steps, framework="torch", mode="eager", step_ms=50.0, first_s=0.1, system=system)
        plant(per_run, steps, framework="torch", mode="compile", step_ms=20.0, first_s=3.1, system=system)
    table = break_even_table(frame(per_run), steps, n_resamples=N_RES)
    assert table["system_id"].to_list() == ["host-a", "host-b", POOLED]
    assert row(table, POOLED)["n_compiled"] == 12
    assert table["break_even_steps"].to_list() == [101.0] * 3


def test_campaigns_are_resampled_first_when_a_cell_spans_enough_of_them() -> None:
    per_run, steps = torch_pair(runs=10, campaigns=5)
    r = row(break_even_table(per_run, steps, n_resamples=N_RES))
    assert CAMPAIGN_LEVEL in r["ci_method"]
    assert r["break_even_steps"] == 101 and r["break_even_low"] <= 101 <= r["break_even_high"]


def test_nothing_to_compare_gives_the_empty_schema_and_never_survives_parquet(tmp_path: Path) -> None:
    per_run, steps = [], {}
    plant(per_run, steps, framework="torch", mode="eager", step_ms=50.0, first_s=0.1)
    plant(per_run, steps, framework="tensorflow", mode="function", step_ms=20.0, first_s=3.1)  # no TF eager
    table = break_even_table(frame(per_run), steps, n_resamples=N_RES)
    assert table.height == 0 and table.schema == empty_table().schema
    per_run, steps = torch_pair(compile_step_ms=60.0)
    table = break_even_table(per_run, steps, n_resamples=N_RES)
    table.write_parquet(tmp_path / "break_even.parquet")
    back = pl.read_parquet(tmp_path / "break_even.parquet")
    assert back["break_even_steps"].to_list() == [math.inf, math.inf]
