"""Deployment runtimes for inference: each framework's eager model converted to the artifacts it is
deployed as (torch.export, TorchScript, ONNX Runtime; SavedModel, LiteRT, ONNX Runtime), so the
benchmark can time what production runs, gated on parity with the eager logits.

`export(framework, runtime, model, batch_np, threads, workdir)` converts, loads and runs once; a
conversion that fails raises RuntimeUnsupported with the underlying error, so a missing cell is
always reported, never silently skipped. Framework imports stay inside functions.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from fwbench import constants as C
from fwbench.runtimes.base import (PARITY_RTOL, Exported, Parity, RuntimeUnsupported, parity_gate, tf_inputs,
                                   torch_inputs)

__all__ = ["PARITY_RTOL", "RUNTIMES", "Exported", "Parity", "RuntimeUnsupported", "export", "parity_gate",
           "reference_outputs"]

#: The exported runtimes of each framework that has any: constants.RUNTIMES without the native modes.
RUNTIMES: dict[str, tuple[str, ...]] = {fw: exported for fw, rs in C.RUNTIMES.items()
                                        if (exported := tuple(r for r in rs if r != C.NATIVE_RUNTIME))}

# (framework, runtime) -> the module whose `export(model, batch_np, threads, workdir)` builds it.
_MODULES: dict[tuple[str, str], str] = {
    ("torch", "torch_export"): "fwbench.runtimes.torch_export",
    ("torch", "torchscript"): "fwbench.runtimes.torchscript",
    ("torch", "onnxruntime"): "fwbench.runtimes.torch_onnx",
    ("tensorflow", "savedmodel"): "fwbench.runtimes.savedmodel",
    ("tensorflow", "litert"): "fwbench.runtimes.litert",
    ("tensorflow", "onnxruntime"): "fwbench.runtimes.tf_onnx",
}


def _check_model(framework: str, model: Any) -> None:
    """RuntimeUnsupported unless `model` is that framework's model object (before any conversion)."""
    if framework == "torch":
        import torch

        ok = isinstance(model, torch.nn.Module)
    else:
        from fwbench.models.base import keras_module

        ok = isinstance(model, keras_module().Model)
    if not ok:
        expected = "torch.nn.Module" if framework == "torch" else "keras.Model"
        raise RuntimeUnsupported(f"TypeError: expected a {expected}, got {type(model).__name__}")


def export(framework: str, runtime: str, model: Any, batch_np: dict[str, np.ndarray], threads: int,
           workdir: Path) -> Exported:
    """Convert `model` (the built eager model of `framework`) for `runtime`, with the batch's inputs
    (every key but LABELS) prepared once; files go under `workdir`. ValueError on an unknown
    framework/runtime or bad threads; RuntimeUnsupported when conversion, loading or the first run fails."""
    if framework not in RUNTIMES:
        raise ValueError(f"unknown framework {framework!r}; allowed: {', '.join(RUNTIMES)}")
    if runtime not in RUNTIMES[framework]:
        raise ValueError(f"unknown {framework} runtime {runtime!r}; allowed: {', '.join(RUNTIMES[framework])}")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    _check_model(framework, model)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module(_MODULES[(framework, runtime)])
    exported: Exported = module.export(model, batch_np, threads, workdir)
    exported.info.setdefault("framework", framework)
    exported.info["runtime"] = runtime
    return exported


def reference_outputs(framework: str, model: Any, batch_np: dict[str, np.ndarray]) -> np.ndarray:
    """The eager model's float32 logits on the batch (training.torch_infer_step / tf_infer_step):
    what every runtime's outputs are gated against."""
    from fwbench.models import training

    if framework == "torch":
        return training.torch_infer_step(model, torch_inputs(batch_np)).detach().cpu().numpy().astype(np.float32)
    if framework == "tensorflow":
        return np.asarray(training.tf_infer_step(model, tf_inputs(batch_np)), dtype=np.float32)
    raise ValueError(f"unknown framework {framework!r}; allowed: {', '.join(RUNTIMES)}")
