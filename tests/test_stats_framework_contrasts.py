"""framework_contrasts (issue 18): planted step times give back the Keras layer's cost and JAX's ratios, with
CIs around the planted values, oriented subject / reference; comparisons treat four frameworks and the Keras
backends as implementations of one workload, while the claims keep reading torch vs TensorFlow only."""

from __future__ import annotations

import polars as pl
import pytest

from fwbench import constants as C
from fwbench.stats.analyze import analyze
from fwbench.stats.claims import parse_claims
from fwbench.synthetic import base_cell
from helpers.planted import planted_frames

TORCH_MS, TF_MS, JAX_MS = 40.0, 50.0, 30.0
KERAS_COST = {"tensorflow": 1.5, "jax": 1.25, "torch": 2.0}  # keras[backend] / the backend's framework
CLAIMS = parse_claims({"claims": [{
    "id": "T1", "text": "t", "source": "s", "tests": "t", "metric": "step_time", "contrast": "all-pairs",
    "a": {"framework": "torch"}, "b": {"framework": "tensorflow"},
    "threshold": {"below": 1.0, "text": "torch faster"}}]}, "test")


def frames() -> dict[str, pl.DataFrame]:
    cells = {base_cell(): TORCH_MS, base_cell(framework="tensorflow", mode="xla"): TF_MS,
             base_cell(framework="jax", mode="jit"): JAX_MS}
    natives = {"tensorflow": ("jit", TF_MS), "jax": ("jit", JAX_MS), "torch": ("eager", TORCH_MS)}
    for backend, cost in KERAS_COST.items():
        mode, native_ms = natives[backend]
        cells[base_cell(framework="keras", mode=mode, backend=backend)] = native_ms * cost
    frames = planted_frames(cells, reps=8, seed=3)
    return {**frames, "runs": frames["runs"].with_columns(grid_name=pl.lit(C.FRAMEWORKS_GRID))}


@pytest.fixture(scope="module")
def analysis():  # noqa: ANN201 -- an Analysis
    data = frames()
    return analyze(data["runs"], data["steps"], CLAIMS, n_resamples=500)


def _pooled(table: pl.DataFrame) -> pl.DataFrame:
    return table.filter(pl.col("system_id") == "pooled")


def test_the_keras_layer_cost_is_recovered_per_backend(analysis) -> None:  # noqa: ANN001
    rows = _pooled(analysis.framework_contrasts).filter(pl.col("contrast") == "keras_layer")
    assert sorted(rows["backend"].to_list()) == sorted(KERAS_COST)
    for row in rows.iter_rows(named=True):
        cost = KERAS_COST[row["backend"]]
        assert row["ratio_low"] < cost < row["ratio_high"], row
        assert row["ratio_low"] > 1.0 and row["ci_excludes_1"]
        assert row["subject"].startswith(f"keras[{row['backend']}]")
    reference = {r["backend"]: r["reference"] for r in rows.iter_rows(named=True)}
    assert reference == {"tensorflow": "tensorflow xla", "jax": "jax jit", "torch": "torch eager"}


def test_jax_is_oriented_as_the_subject(analysis) -> None:  # noqa: ANN001
    rows = _pooled(analysis.framework_contrasts).filter(pl.col("contrast") == "jax")
    by_reference = {r["reference"]: r for r in rows.iter_rows(named=True)}
    assert set(by_reference) == {"torch eager", "tensorflow xla"}
    for reference, ms in (("torch eager", TORCH_MS), ("tensorflow xla", TF_MS)):
        row = by_reference[reference]
        assert row["subject"] == "jax jit"
        assert row["ratio_low"] < JAX_MS / ms < row["ratio_high"]
        assert row["median_subject_ms"] < row["median_reference_ms"]


def test_every_implementation_pair_is_compared_and_claims_read_torch_and_tensorflow_only(analysis) -> None:  # noqa: ANN001
    comps = _pooled(analysis.comparisons).filter(pl.col("metric") == "step_time")
    assert comps.height == 6 * 5 // 2  # six implementations of one workload, every pair once
    kinds = comps["kind"].to_list()
    assert kinds.count("backend") == 3 and kinds.count("framework") == 12  # keras[x] vs keras[y]: backend
    claim = _pooled(analysis.claims).row(0, named=True)
    assert claim["n_cells"] == 1  # torch vs TF, never JAX or Keras on a torch/TF backend
    assert claim["effect_low"] < TORCH_MS / TF_MS < claim["effect_high"]


def test_runs_of_other_grids_are_not_read() -> None:
    """A JAX cell from another campaign (another day) is no evidence for the same-day contrast."""
    data = frames()
    other = data["runs"].with_columns(grid_name=pl.lit("default"))
    assert analyze(other, data["steps"], CLAIMS, n_resamples=100).framework_contrasts.height == 0
