"""`torchscript`: torch.jit.trace, the legacy deployment path (deprecated in torch 2.x, still shipped
in 2.13), saved and reloaded with torch.jit.save/load so what runs is the serialized module."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fwbench.runtimes.base import PROCESS_THREADS, Exported, converting, file_size, torch_inputs, versions

NAME = "torchscript"


def export(model: Any, batch_np: dict[str, np.ndarray], threads: int, workdir: Path) -> Exported:
    import torch

    inputs = torch_inputs(batch_np)
    with converting(NAME):
        if not hasattr(torch, "jit") or not hasattr(torch.jit, "trace"):
            raise RuntimeError(f"torch {torch.__version__} ships no torch.jit.trace")
        model.eval()
        with warnings.catch_warnings(record=True) as caught, torch.no_grad():
            warnings.simplefilter("always")
            traced = torch.jit.trace(model, example_kwarg_inputs=inputs)
            path = workdir / "model.ts"
            torch.jit.save(traced, str(path))
            module = torch.jit.load(str(path), map_location="cpu")
        module.eval()

        def step() -> Any:
            with torch.inference_mode():
                return module(**inputs)

        step()
    notes = sorted({str(w.message).splitlines()[0] for w in caught if issubclass(w.category, DeprecationWarning)
                    or "deprecated" in str(w.message)})
    info = {"runtime": NAME, "versions": versions("torch"), "file_bytes": file_size(path), "provider": "cpu",
            "threads": threads, "threads_scope": PROCESS_THREADS, "warnings": notes}
    return Exported(step=step, outputs=lambda out: out.detach().cpu().numpy().astype(np.float32), info=info,
                    handle=module)
