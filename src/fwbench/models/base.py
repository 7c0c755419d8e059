"""The contract every model family meets, so the harness and the parity tests treat them alike.

A family owns one config dataclass shared by both frameworks, a seeded synthetic batch made with
numpy (identical bytes for PyTorch and TensorFlow), a builder per framework, a weight copy
PyTorch -> TensorFlow (parity tests, accuracy track) and an analytic forward FLOP count.
Framework imports stay inside methods: importing this package never imports torch or tensorflow.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import numpy as np

from fwbench import constants as C

ConfigT = TypeVar("ConfigT")

# Batch keys: every key except LABELS is a model input, passed by name to both frameworks.
LABELS = "labels"
# Images are NHWC (TensorFlow layout) in a batch; the torch side converts them to NCHW.
IMAGES = "images"


def keras_module() -> Any:
    """Import keras on the TensorFlow backend (set before the first keras import)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    return keras


class ModelFamily(ABC, Generic[ConfigT]):
    """One model family: config by size name, batch, builders, weight copy, FLOPs."""

    name: str = ""

    @property
    def sizes(self) -> tuple[str, ...]:
        return C.SIZES[self.name]

    def check_size(self, size: str) -> None:
        if size not in self.sizes:
            raise ValueError(f"unknown {self.name} size {size!r}; allowed: {', '.join(self.sizes)}")

    @abstractmethod
    def config(self, size: str, seq_len: int) -> ConfigT:
        """The config of a named size (ValueError naming allowed sizes if unknown)."""

    @abstractmethod
    def make_batch(self, config: ConfigT, batch_size: int, seq_len: int, seed: int) -> dict[str, np.ndarray]:
        """Synthetic inputs and labels from np.random.default_rng(seed)."""

    @abstractmethod
    def build_torch(self, config: ConfigT, seed: int) -> Any:
        """A torch.nn.Module with seeded default initialisation."""

    @abstractmethod
    def build_tf(self, config: ConfigT, seed: int) -> Any:
        """A keras.Model with seeded initialisation, built (weights exist) on return."""

    @abstractmethod
    def copy_torch_to_tf(self, torch_model: Any, tf_model: Any) -> None:
        """Overwrite the keras model's weights (and BatchNorm statistics) with the torch model's."""

    @abstractmethod
    def flops_per_sample(self, config: ConfigT, seq_len: int) -> float:
        """Analytic forward FLOPs per sample: matmul/conv multiply-adds count 2, elementwise ops 0."""


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def assign(variable: Any, value: Any) -> None:
    """Assign a numpy-convertible value to a keras variable, checking the shape first."""
    array = np.asarray(value, dtype=np.float32)
    if tuple(variable.shape) != array.shape:
        raise ValueError(f"shape mismatch for {variable.path}: keras {tuple(variable.shape)} vs torch {array.shape}")
    variable.assign(array)


def tensor_np(tensor: Any) -> np.ndarray:
    """A torch tensor as a float32 numpy array (detached, on CPU)."""
    return tensor.detach().cpu().numpy().astype(np.float32)
