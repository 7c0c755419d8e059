"""`torch_export`: torch.export's ahead-of-time graph (the path to AOTInductor/ExecuTorch), saved to a
.pt2 file and loaded back so what runs is the deployable artifact, not the tracing session's module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fwbench.runtimes.base import PROCESS_THREADS, Exported, converting, file_size, torch_inputs, versions

NAME = "torch_export"


def export(model: Any, batch_np: dict[str, np.ndarray], threads: int, workdir: Path) -> Exported:
    import torch

    inputs = torch_inputs(batch_np)
    with converting(NAME):
        model.eval()
        program = torch.export.export(model, args=(), kwargs=inputs)
        path = workdir / "model.pt2"
        torch.export.save(program, path)
        module = torch.export.load(path).module()

        def step() -> Any:
            with torch.inference_mode():
                return module(**inputs)

        step()  # a failure to run is a failure to deploy: report it here, not inside a timed loop
    info = {"runtime": NAME, "versions": versions("torch"), "file_bytes": file_size(path), "provider": "cpu",
            "threads": threads, "threads_scope": PROCESS_THREADS}
    return Exported(step=step, outputs=lambda out: out.detach().cpu().numpy().astype(np.float32), info=info,
                    handle=module)
