"""The workload of an inference-runtime cell: the standard eager model, exported, gated, timed as exported.

The worker builds the framework's eager model as for a native cell, takes its logits on the cell's
batch as the reference, converts it with fwbench.runtimes, runs the export once and compares: an export
that fails is status `unsupported`, outputs beyond the parity tolerance are status `mismatch` (never a
silent skip; the error text says why). Only then are the exported model's steps timed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from fwbench.harness.backends import Workload, first_tensor
from fwbench.models import training


#: Test-only faults (FWBENCH_TEST_FAULT, as for the worker's other faults): `perturb@export` shifts the
#: exported model's outputs by PERTURBATION before the gate; `unsupported@export` fails the conversion.
FAULT_ENV = "FWBENCH_TEST_FAULT"
PERTURBATION = 1e-2


def _fault(kind: str) -> bool:
    return os.environ.get(FAULT_ENV, "") == f"{kind}@export"


class ParityMismatch(Exception):
    """The exported model computes another function than the eager one (beyond the tolerance)."""

    run_status = "mismatch"

    def __init__(self, runtime: str, max_abs_diff: float, tolerance: float) -> None:
        super().__init__(f"{runtime}: outputs differ from the eager model's by {max_abs_diff:.3g} (max abs), "
                         f"beyond the parity tolerance {tolerance:.3g}")
        self.parity = {"max_abs_diff": float(max_abs_diff), "tolerance": float(tolerance)}


def build_exported(backend: Any, family: Any, config: Any, batch_np: dict[str, np.ndarray], cell: dict[str, Any],
                   seed: int, workdir: Path) -> Workload:
    """The exported workload of `cell` (its `runtime`); raises RuntimeUnsupported or ParityMismatch."""
    from fwbench import runtimes

    framework = cell["framework"]
    if framework == "torch":
        model = family.build_torch(config, seed)
        params = training.count_params_torch(model)
    else:
        model = family.build_tf(config, seed)
        params = training.count_params_tf(model)
    reference = runtimes.reference_outputs(framework, model, batch_np)
    if _fault("unsupported"):
        raise runtimes.RuntimeUnsupported(f"{cell['runtime']}: injected test fault (unsupported@export)")
    exported = runtimes.export(framework, cell["runtime"], model, batch_np, int(cell["threads"]), workdir)
    candidate = exported.outputs(exported.step())
    gate = runtimes.parity_gate(reference, candidate + PERTURBATION if _fault("perturb") else candidate)
    if not gate.ok:
        raise ParityMismatch(cell["runtime"], gate.max_abs_diff, gate.tolerance)

    def sync(output: Any) -> None:
        """numpy outputs (ONNX Runtime, LiteRT) are complete when returned; framework tensors sync as usual."""
        if not isinstance(first_tensor(output), np.ndarray):
            backend.sync(output)

    return Workload(step=exported.step, params=params, sync=sync,
                    parity={"max_abs_diff": float(gate.max_abs_diff), "tolerance": float(gate.tolerance)})
