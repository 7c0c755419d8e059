"""torch `onnxruntime`: torch.onnx.export (torch 2.13's default dynamo exporter, built on onnxscript)
to a single .onnx file, run by onnxruntime on the CPU provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fwbench.runtimes import ort
from fwbench.runtimes.base import Exported, converting, torch_inputs, versions

NAME = "onnxruntime"


def export(model: Any, batch_np: dict[str, np.ndarray], threads: int, workdir: Path) -> Exported:
    import torch

    inputs = torch_inputs(batch_np)
    with converting(f"torch {NAME}"):
        model.eval()
        path = workdir / "model_torch.onnx"
        torch.onnx.export(model, args=(), f=str(path), kwargs=inputs, dynamo=True, external_data=False,
                          verbose=False)
        feeds = {key: value.numpy() for key, value in inputs.items()}
        exported = ort.run_file(path, feeds, threads, versions("torch", "onnxscript"))
        exported.step()
    exported.info["exporter"] = "torch.onnx.export(dynamo=True)"
    return exported
