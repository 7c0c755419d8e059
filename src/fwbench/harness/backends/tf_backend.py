"""TensorFlow backend: modes eager (plain Python step), function (tf.function), xla (jit_compile).

Threading and GPU memory growth are set right after the import, before any TensorFlow op
creates the runtime context (they cannot change afterwards). Model, optimizer and inputs are
created, and steps run, under tf.device of the cell's device. Sync: the loss (or one output
element) is materialised with `.numpy()`, after `tf.test.experimental.sync_devices()` on GPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fwbench import constants as C
from fwbench.harness.backends import Workload, first_tensor
from fwbench.models import training

MB = 2**20
_DEVICES = {"cpu": "/CPU:0", "cuda": "/GPU:0"}


class TensorFlowBackend:
    framework = "tensorflow"

    def __init__(self) -> None:
        self.tf: Any = None
        self.device = "cpu"
        self.gpus: list[Any] = []

    def import_framework(self) -> None:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras  # noqa: F401  (the models are Keras 3 models: part of the framework import)
        import tensorflow as tf

        self.tf = tf

    def configure(self, threads: int, seed: int, device: str) -> None:
        tf = self.tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        self.gpus = tf.config.list_physical_devices("GPU")
        for gpu in self.gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
        import keras

        keras.utils.set_random_seed(seed)
        self.device = device

    def unavailable_reason(self, device: str) -> str | None:
        if device == "cuda" and not self.gpus:
            built = self.tf.test.is_built_with_cuda()
            return ("no CUDA device: tf.config.list_physical_devices('GPU') is empty"
                    + ("" if built else " (this TensorFlow build has no CUDA support)"))
        return None

    def device_scope(self, device: str) -> Any:
        return self.tf.device(_DEVICES[device])

    def build(self, family: Any, config: Any, batch_np: dict[str, Any], mode: str, phase: str, device: str,
              seed: int, variant: str = C.STANDARD_VARIANT) -> Workload:
        tf = self.tf
        model = family.build_tf(config, seed, variant)
        params = training.count_params_tf(model)
        batch = training.to_tf(batch_np, device)
        if phase == "train":
            optimizer = training.tf_optimizer(model)

            def fn(b: Any) -> Any:
                return training.tf_train_step(model, optimizer, b)
        else:
            def fn(b: Any) -> Any:
                return training.tf_infer_step(model, b)
        if mode == "function":
            fn = tf.function(fn)
        elif mode == "xla":
            fn = tf.function(fn, jit_compile=True)
        if device == "cuda":
            tf.test.experimental.sync_devices()
        return Workload(step=lambda: fn(batch), params=params)

    def onednn_enabled(self) -> bool | None:
        """TensorFlow's own answer (util.cc IsMKLEnabled: the build, and TF_ENABLE_ONEDNN_OPTS at import)."""
        try:
            from tensorflow.python.util import _pywrap_util_port
        except ImportError:
            return None
        return bool(_pywrap_util_port.IsMklEnabled())

    def onednn_dispatch(self, run_step: Callable[[], Any]) -> dict[str, Any] | None:
        return None  # TensorFlow's oneDNN has no run-time verbose switch (fwbench.harness.onednn_probe)

    def sync(self, output: Any) -> None:
        if self.device == "cuda":
            self.tf.test.experimental.sync_devices()
        tensor = first_tensor(output)
        (tensor if tensor.shape.rank == 0 else self.tf.reshape(tensor, [-1])[0]).numpy()

    def reset_device_peak(self) -> None:
        if self.device == "cuda":
            self.tf.test.experimental.sync_devices()
            self.tf.config.experimental.reset_memory_stats("GPU:0")

    def device_peak_mb(self) -> float | None:
        if self.device != "cuda" or self.tf is None:
            return None
        return self.tf.config.experimental.get_memory_info("GPU:0")["peak"] / MB

    def is_oom(self, exc: BaseException) -> bool:
        if isinstance(exc, MemoryError):
            return True
        return self.tf is not None and isinstance(exc, self.tf.errors.ResourceExhaustedError)

    def compile_cache_state(self) -> str | None:
        return None


BACKEND = TensorFlowBackend()
