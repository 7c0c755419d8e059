"""The contract every model family meets, so the harness and the parity tests treat them alike.

A family owns one config dataclass shared by every framework, a seeded synthetic batch made with
numpy (identical bytes for PyTorch, TensorFlow and JAX), a builder per framework, weight copies
PyTorch -> TensorFlow (parity tests, accuracy track) and PyTorch -> JAX (parity tests) and an
analytic forward FLOP count.
The torch and TensorFlow builders take an implementation variant (constants.VARIANTS; JAX has the
standard model only): the same function through another kernel or layout, parity-tested against
the other framework's standard model.
Framework imports stay inside methods: importing this package never imports torch, tensorflow or jax.
"""

from __future__ import annotations

import importlib
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

    def check_variant(self, framework: str, variant: str) -> None:
        """ValueError naming the allowed variants unless `variant` is one of this framework's for this model.

        The one check every builder runs first, so a bad variant fails before anything is built."""
        allowed = C.VARIANTS[framework][self.name]
        if variant not in allowed:
            raise ValueError(f"unknown {framework} {self.name} variant {variant!r}; allowed: {', '.join(allowed)}")

    @abstractmethod
    def config(self, size: str, seq_len: int) -> ConfigT:
        """The config of a named size (ValueError naming allowed sizes if unknown)."""

    @abstractmethod
    def make_batch(self, config: ConfigT, batch_size: int, seq_len: int, seed: int) -> dict[str, np.ndarray]:
        """Synthetic inputs and labels from np.random.default_rng(seed)."""

    @abstractmethod
    def build_torch(self, config: ConfigT, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        """A torch.nn.Module with seeded default initialisation (ValueError on a variant not in
        C.VARIANTS["torch"][model]); the same seed gives the same weights in every variant."""

    @abstractmethod
    def build_tf(self, config: ConfigT, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        """A keras.Model with seeded initialisation, built (weights exist) on return (ValueError on
        a variant not in C.VARIANTS["tensorflow"][model])."""

    @abstractmethod
    def copy_torch_to_tf(self, torch_model: Any, tf_model: Any) -> None:
        """Overwrite the keras model's weights (and BatchNorm statistics) with the torch model's."""

    def build_jax(self, config: ConfigT, seed: int) -> Any:
        """A flax.nnx.Module (fwbench.models.flax_models.<family>.build) initialised from nnx.Rngs(seed): the
        standard model only (constants.VARIANTS["jax"]); images NHWC, named inputs as the torch model's. The
        Flax module is found by the family's name, so no family module imports flax (nor it them in a cycle)."""
        return self._flax_module().build(config, seed)

    def copy_torch_to_jax(self, torch_model: Any, jax_model: Any) -> None:
        """Overwrite the Flax model's parameters (and BatchNorm statistics) with the torch model's
        (ValueError naming the parameter on a shape mismatch, or the paths a copy misses)."""
        self._flax_module().copy_torch(torch_model, jax_model)

    def _flax_module(self) -> Any:
        return importlib.import_module(f"fwbench.models.flax_models.{self.name}")

    @abstractmethod
    def flops_per_sample(self, config: ConfigT, seq_len: int) -> float:
        """Analytic forward FLOPs per sample: matmul/conv multiply-adds count 2, elementwise ops 0."""


def model_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """Every batch key but LABELS: the model's named inputs (numpy arrays or framework tensors)."""
    return {key: value for key, value in batch.items() if key != LABELS}


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def image_batch(batch_size: int, image_size: int, channels: int, num_classes: int, seed: int) -> dict[str, np.ndarray]:
    """Standard-normal NHWC float32 images and uniform int64 labels: the batch of every image family,
    made by one function so cnn and cnn_plain see the same bytes for the same seed."""
    check_positive("batch_size", batch_size)
    gen = rng(seed)
    return {
        IMAGES: gen.standard_normal((batch_size, image_size, image_size, channels), dtype=np.float32),
        LABELS: gen.integers(0, num_classes, size=(batch_size,), dtype=np.int64),
    }


class ImageFamily(ModelFamily[ConfigT]):
    """A family of 32x32 image classifiers (cnn, cnn_plain): one batch maker, and the builders every
    image family shares (seeding, torch channels_last, building the Keras model on a dummy image).
    Subclasses give the model classes (`torch_model`, `tf_model`)."""

    @abstractmethod
    def torch_model(self, config: ConfigT) -> Any:
        """The torch.nn.Module of `config` (called after seeding)."""

    @abstractmethod
    def tf_model(self, config: ConfigT, variant: str) -> Any:
        """The keras.Model of `config` in `variant` (called after seeding, before the model is built)."""

    def make_batch(self, config: Any, batch_size: int, seq_len: int, seed: int) -> dict[str, np.ndarray]:
        return image_batch(batch_size, config.image_size, config.channels, config.num_classes, seed)

    def build_torch(self, config: ConfigT, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        import torch

        self.check_variant("torch", variant)
        torch.manual_seed(seed)
        model = self.torch_model(config)
        return model.to(memory_format=torch.channels_last) if variant == "channels_last" else model

    def build_tf(self, config: ConfigT, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        keras = keras_module()
        self.check_variant("tensorflow", variant)
        keras.utils.set_random_seed(seed)
        model = self.tf_model(config, variant)
        dummy = np.zeros((1, config.image_size, config.image_size, config.channels), np.float32)  # type: ignore[attr-defined]
        model({IMAGES: dummy}, training=False)
        return model


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
