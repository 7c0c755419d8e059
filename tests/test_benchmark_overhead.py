"""benchmarks/overhead.py: its verdicts on planted step times, and its interleaved process on tiny models.

The benchmark itself is a script (it needs a quiet machine and about an hour); these tests keep its
statistics honest and show that its bare loop trains the same model as the harness.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest

from fwbench.harness.environment import worker_env
from fwbench.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "overhead.py"


@pytest.fixture(scope="module")
def overhead() -> ModuleType:
    spec = importlib.util.spec_from_file_location("overhead_benchmark", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def planted(ratio: float, pairs: int, *, procs: int = 1, noise: float = 0.03, seed: int = 0
            ) -> tuple[list[list[float]], list[list[float]]]:
    """Step times under a random-walk machine drift shared by both steps of a pair; harness = ratio x bare."""
    rng = np.random.default_rng(seed)
    harness, bare = [], []
    for _ in range(procs):
        drift = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.05, pairs)))
        bare.append(list(drift * np.exp(rng.normal(0.0, noise, pairs))))
        harness.append(list(ratio * drift * np.exp(rng.normal(0.0, noise, pairs))))
    return harness, bare


def test_no_overhead_under_drift_is_within_the_margin(overhead: ModuleType) -> None:
    result = overhead.summarise(*planted(1.0, 200), unit="step")
    assert result["verdict"] == "within 3%"
    assert result["ci90_low"] >= 0.97 and result["ci90_high"] <= 1.03
    assert result["ci_low"] <= 1.0 <= result["ci_high"]


def test_planted_overhead_is_outside_the_margin_and_recovered(overhead: ModuleType) -> None:
    result = overhead.summarise(*planted(1.10, 200, procs=2), unit="step")
    assert result["verdict"] == "outside 3%"
    assert abs(result["ratio"] - 1.10) < 0.01
    assert result["ci_low"] < result["ratio"] < result["ci_high"]


def test_noise_that_swamps_the_margin_is_not_resolved(overhead: ModuleType) -> None:
    result = overhead.summarise(*planted(1.0, 12, procs=2, noise=0.3), unit="step")
    assert result["verdict"] == "not resolved"


def test_processes_are_paired_by_their_medians_and_need_six_pairs(overhead: ModuleType) -> None:
    harness, bare = planted(1.0, 30, procs=5)
    result = overhead.summarise(harness, bare, unit="process")
    assert result["verdict"].startswith("too few pairs")
    assert "over 5 process pairs" in result["ci_method"]


@pytest.mark.parametrize("config", ["torch/eager/cnn", "tensorflow/function/lstm"])
def test_interleaved_process_times_both_sides_of_the_same_model(config: str) -> None:
    env = {**os.environ, **worker_env(2, 0, "cpu", None)}
    out = subprocess.run([sys.executable, str(SCRIPT), "--interleaved", config, "--size", "tiny", "--batch", "4",
                          "--seq-len", "8", "--warmup", "1", "--steps", "4"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["harness_ms"]) == len(result["bare_ms"]) == 4
    assert all(t > 0 for t in result["harness_ms"] + result["bare_ms"])
    loss = result["first_loss"]
    assert np.isfinite(loss["harness"]) and loss["harness"] > 0
    assert abs(loss["harness"] - loss["bare"]) <= 1e-5 * max(1.0, abs(loss["harness"]))
