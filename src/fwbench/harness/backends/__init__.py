"""One backend per framework: import, thread/seed/device setup, model build per mode, sync, OOM. The keras
backend delegates all but the model and its training loop to the native backend of its Keras backend.

The worker drives any backend through the same calls (see Backend), so timing, memory and the
record never branch on the framework. Backends import their framework only in import_framework().
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

_MODULES: dict[str, str] = {
    "torch": "fwbench.harness.backends.torch_backend",
    "tensorflow": "fwbench.harness.backends.tf_backend",
    "jax": "fwbench.harness.backends.jax_backend",
    "keras": "fwbench.harness.backends.keras_backend",
}


@dataclass
class Workload:
    """A built cell: `step()` runs one train or infer step and returns the loss or outputs. An exported
    runtime (fwbench.harness.exported) brings its own `sync` and the result of its parity gate."""

    step: Callable[[], Any]
    params: int
    sync: Callable[[Any], None] | None = None
    parity: dict[str, float] | None = None


class Backend(Protocol):
    framework: str

    def import_framework(self) -> None: ...

    def configure(self, threads: int, seed: int, device: str) -> None: ...

    def unavailable_reason(self, device: str) -> str | None: ...

    def device_scope(self, device: str) -> AbstractContextManager[Any]: ...

    def build(self, family: Any, config: Any, batch_np: dict[str, Any], mode: str, phase: str, device: str,
              seed: int, variant: str) -> Workload: ...

    def onednn_enabled(self) -> bool | None: ...

    def onednn_dispatch(self, run_step: Callable[[], Any]) -> dict[str, Any] | None:
        """oneDNN's effective ISA and the implementations one more (untimed) step ran; None where not visible."""

    def sync(self, output: Any) -> None: ...

    def reset_device_peak(self) -> None: ...

    def device_peak_mb(self) -> float | None: ...

    def is_oom(self, exc: BaseException) -> bool: ...

    def compile_cache_state(self) -> str | None: ...


def get_backend(framework: str) -> Backend:
    if framework not in _MODULES:
        raise ValueError(f"unknown framework {framework!r}; allowed: {', '.join(_MODULES)}")
    return importlib.import_module(_MODULES[framework]).BACKEND


def first_tensor(output: Any) -> Any:
    """The first tensor of a step's output (a tensor, or a tuple/list/dict of them)."""
    while isinstance(output, (tuple, list, dict)):
        output = next(iter(output.values())) if isinstance(output, dict) else output[0]
    return output
