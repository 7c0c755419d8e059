"""Keras 3 backend: the project's Keras models trained by Keras's own loop (compile + train_on_batch) on the
Keras backend the worker's KERAS_BACKEND names (tensorflow, jax or torch; set before keras is imported by
fwbench.harness.environment.worker_env). Modes: eager (run_eagerly) and jit (jit_compile: XLA, jax.jit or
torch.compile); fwbench.models.training_keras says what each means per backend.

Everything that is not Keras (threads, seeding, device scope and memory, OOM, sync of a backend tensor) is the
native backend's: a keras cell on the torch backend sets torch's threads exactly as a torch cell does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from fwbench import constants as C
from fwbench.harness.backends import Backend, Workload, get_backend
from fwbench.models import training


class KerasBackend:
    framework = "keras"

    def __init__(self) -> None:
        self.native: Backend | None = None
        self.name = ""

    def import_framework(self) -> None:
        self.name = os.environ.get("KERAS_BACKEND", "")
        if self.name not in C.KERAS_BACKENDS:
            raise ValueError(f"KERAS_BACKEND={self.name!r}; allowed: {', '.join(C.KERAS_BACKENDS)}")
        self.native = get_backend(self.name)
        self.native.import_framework()
        import keras

        if keras.backend.backend() != self.name:  # keras was imported earlier with another backend
            raise RuntimeError(f"keras runs on {keras.backend.backend()!r}, the cell asks for {self.name!r}")

    def _native(self) -> Backend:
        if self.native is None:
            raise RuntimeError("import_framework() first")
        return self.native

    def configure(self, threads: int, seed: int, device: str) -> None:
        self._native().configure(threads, seed, device)
        import keras

        keras.utils.set_random_seed(seed)

    def unavailable_reason(self, device: str) -> str | None:
        return self._native().unavailable_reason(device)

    def device_scope(self, device: str) -> Any:
        return self._native().device_scope(device)

    def build(self, family: Any, config: Any, batch_np: dict[str, Any], mode: str, phase: str, device: str,
              seed: int, variant: str = C.STANDARD_VARIANT) -> Workload:
        from fwbench.models import training_keras as TK

        model = family.build_tf(config, seed, variant)  # the Keras model, on whichever backend keras runs
        TK.keras_compile(model, mode)
        inputs, labels = TK.keras_batch(batch_np)
        if phase == "train":
            step = lambda: TK.keras_train_step(model, inputs, labels)  # noqa: E731
        else:
            step = lambda: TK.keras_infer_step(model, inputs)  # noqa: E731
        return Workload(step=step, params=training.count_params_tf(model))

    def onednn_enabled(self) -> bool | None:
        return self._native().onednn_enabled()

    def onednn_dispatch(self, run_step: Callable[[], Any]) -> dict[str, Any] | None:
        return self._native().onednn_dispatch(run_step)

    def sync(self, output: Any) -> None:
        if isinstance(output, (float, int, np.ndarray, np.generic)):
            return  # Keras already brought it to the host (train_on_batch's logs, predict_on_batch's numpy)
        self._native().sync(output)

    def reset_device_peak(self) -> None:
        self._native().reset_device_peak()

    def device_peak_mb(self) -> float | None:
        return None if self.native is None else self.native.device_peak_mb()

    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, MemoryError) or (self.native is not None and self.native.is_oom(exc))

    def compile_cache_state(self) -> str | None:
        return None if self.native is None else self.native.compile_cache_state()


BACKEND = KerasBackend()
