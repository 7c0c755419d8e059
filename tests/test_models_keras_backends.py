"""The Keras models on every Keras backend (tensorflow, jax, torch), driven by Keras's own loop
(fwbench.models.training_keras: compile + predict_on_batch / train_on_batch) in both modes (eager, jit),
match the PyTorch reference: eval logits, one step's loss, updated weights and BatchNorm statistics,
with helpers.parity's tolerances.

Keras fixes its backend at the first import (this process already has keras on TensorFlow), so each
backend runs helpers/keras_backend_parity.py in its own process with KERAS_BACKEND set; the script
reports per case and the backend keras really used. The fast cases (every family at tiny and at its
default size in both modes, except JAX eager, tiny only, and torch.compile, cnn_plain tiny only) took
2.8-3.7 min for the three backends on the shared 2-core machine (load 2-4 from other jobs; 3-3.5 CPU-min);
the slow test runs the rest (torch.compile of the other 7 models, 20-130 s each from a cold inductor
cache; JAX eager at the default sizes). One xdist group: each process uses both cores, so the backends
run one after another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.keras_backend_parity import cases

from fwbench import constants as C
from fwbench.models import training_keras as K

SCRIPT = Path(__file__).parent / "helpers" / "keras_backend_parity.py"

pytestmark = pytest.mark.xdist_group("keras_backends")


def run_backend(backend: str, slow: bool, timeout_s: int) -> dict[str, Any]:
    """The script's JSON report for `backend` (its fast or slow cases), run in a fresh process."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    argv = [sys.executable, str(SCRIPT), *(["--slow"] if slow else [])]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_report(report: dict[str, Any], backend: str, slow: bool) -> None:
    """The backend keras ran on is the one requested, every case ran, none failed."""
    assert (report["requested"], report["backend"]) == (backend, backend), report
    ran = [(case["model"], case["size"], case["mode"]) for case in report["cases"]]
    assert ran == cases(backend, slow)
    failing = [case for case in report["cases"] if case["failures"]]
    assert not failing, f"{len(failing)} of {len(ran)} cases failed on {backend}:\n" + "\n".join(
        json.dumps(case) for case in failing)


@pytest.mark.parametrize("backend", C.KERAS_BACKENDS)
def test_keras_backend_matches_torch(backend: str) -> None:
    check_report(run_backend(backend, slow=False, timeout_s=900), backend, slow=False)


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in C.KERAS_BACKENDS if cases(b, slow=True)])
def test_keras_backend_matches_torch_slow_cases(backend: str) -> None:
    check_report(run_backend(backend, slow=True, timeout_s=3600), backend, slow=True)


def test_unknown_mode_names_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: eager, jit"):
        K.check_mode("xla")
