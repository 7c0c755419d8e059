"""PyTorch backend: modes eager and compile (torch.compile of the model, inductor).

Sync: a step's output is materialised on the host (`.item()` of the loss, or of one output
element for inference), after `torch.cuda.synchronize()` on CUDA. The compile cache state is
read from inductor's own counters after the first step (warm = every FX-graph / AOT-autograd
cache lookup hit), which is exact for this model rather than "the directory has files".
"""

from __future__ import annotations

from contextlib import nullcontext
from collections.abc import Callable
from typing import Any

from fwbench import constants as C
from fwbench.harness.backends import Workload, first_tensor
from fwbench.models import training

MB = 2**20


class TorchBackend:
    framework = "torch"

    def __init__(self) -> None:
        self.torch: Any = None
        self.device = "cpu"

    def import_framework(self) -> None:
        import torch

        self.torch = torch

    def configure(self, threads: int, seed: int, device: str) -> None:
        torch = self.torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        torch.manual_seed(seed)
        self.device = device

    def unavailable_reason(self, device: str) -> str | None:
        if device == "cuda" and not self.torch.cuda.is_available():
            return "no CUDA device: torch.cuda.is_available() is False"
        return None

    def device_scope(self, device: str) -> Any:
        return nullcontext()

    def build(self, family: Any, config: Any, batch_np: dict[str, Any], mode: str, phase: str, device: str,
              seed: int, variant: str = C.STANDARD_VARIANT) -> Workload:
        # oneDNN (mkldnn) is a process-wide switch, read when ops dispatch: set before the model exists.
        self.torch.backends.mkldnn.enabled = variant != C.NO_ONEDNN
        model = family.build_torch(config, seed, variant).to(device)
        params = training.count_params_torch(model)
        batch = training.to_torch(batch_np, device, channels_last=variant == "channels_last")
        net = self.torch.compile(model) if mode == "compile" else model
        if phase == "train":
            optimizer = training.torch_optimizer(model)
            step = lambda: training.torch_train_step(net, optimizer, batch)  # noqa: E731
        else:
            step = lambda: training.torch_infer_step(net, batch)  # noqa: E731
        if device == "cuda":
            self.torch.cuda.synchronize()
        return Workload(step=step, params=params)

    def onednn_enabled(self) -> bool | None:
        mkldnn = self.torch.backends.mkldnn
        return bool(mkldnn.is_available() and mkldnn.enabled)

    def onednn_dispatch(self, run_step: Callable[[], Any]) -> dict[str, Any] | None:
        """oneDNN's ISA and implementations in one more step, from its verbose log (fwbench.harness.onednn_probe)."""
        from fwbench.harness.onednn_probe import captured_stdout, parse_verbose

        mkldnn = self.torch.backends.mkldnn
        if self.device != "cpu" or not self.onednn_enabled():
            return None

        def verbose_step() -> None:
            with mkldnn.verbose(mkldnn.VERBOSE_ON):
                run_step()

        return parse_verbose(captured_stdout(verbose_step))

    def sync(self, output: Any) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()
        tensor = first_tensor(output)
        (tensor if tensor.dim() == 0 else tensor.reshape(-1)[0]).item()

    def reset_device_peak(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()

    def device_peak_mb(self) -> float | None:
        if self.device != "cuda" or self.torch is None:
            return None
        return self.torch.cuda.max_memory_allocated() / MB

    def is_oom(self, exc: BaseException) -> bool:
        if isinstance(exc, MemoryError):
            return True
        torch = self.torch
        if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
        text = str(exc)
        return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)

    def compile_cache_state(self) -> str | None:
        """'warm' if every inductor/AOT cache lookup of this run hit, 'cold' if any missed."""
        try:
            from torch._dynamo.utils import counters
        except ImportError:
            return None
        hits = counters["inductor"]["fxgraph_cache_hit"] + counters["aot_autograd"]["autograd_cache_hit"]
        misses = counters["inductor"]["fxgraph_cache_miss"] + counters["aot_autograd"]["autograd_cache_miss"]
        if misses:
            return "cold"
        return "warm" if hits else None


BACKEND = TorchBackend()
