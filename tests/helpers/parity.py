"""PyTorch <-> TensorFlow parity checks of a model pair, shared by test_models_parity and test_models_variants
(the tolerances and the parity config are shared with helpers.parity_jax too).

A pair is one family's torch model and keras model, each in a variant (standard by default), the
keras weights overwritten by the torch ones. Tolerances (test_models_parity's docstring says why):
eval outputs max |diff| <= OUT_RTOL * max(1, max|out|); loss |diff| <= LOSS_RTOL * max(1, |loss|);
updated trainable weights max |diff| <= WEIGHT_ATOL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fwbench import constants as C
from fwbench.models import ModelFamily, get_family
from fwbench.models import training as T
from fwbench.runtimes import PARITY_RTOL

OUT_RTOL = PARITY_RTOL  # one rule for model parity and for an exported runtime's gate
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-5
SEQ_LEN = 16
BATCH = 4


@dataclass
class Pair:
    family: ModelFamily
    config: Any
    torch_model: Any
    tf_model: Any
    batch: dict[str, np.ndarray]
    torch_variant: str
    tf_variant: str

    def torch_batch(self) -> dict[str, Any]:
        """The batch as the harness feeds the torch variant (channels_last images for channels_last)."""
        return T.to_torch(self.batch, "cpu", channels_last=self.torch_variant == "channels_last")

    def tf_batch(self) -> dict[str, Any]:
        return T.to_tf(self.batch, "cpu")


def parity_config(model: str, size: str, seq_len: int = SEQ_LEN) -> tuple[ModelFamily, Any]:
    """The family and the config a parity check uses: BERT's without dropout (a training step is
    compared across frameworks, whose dropout masks differ)."""
    family = get_family(model)
    config = family.config(size, seq_len)
    return family, config.without_dropout() if model == "bert" else config


def make_pair(model: str, size: str, torch_variant: str = C.STANDARD_VARIANT, tf_variant: str = C.STANDARD_VARIANT,
              seq_len: int = SEQ_LEN, batch_seed: int = 2) -> Pair:
    """Torch model from seed 0, keras model from seed 1 (a different init, overwritten by the copy),
    batch from `batch_seed`; BERT in its dropout-0 config."""
    family, config = parity_config(model, size, seq_len)
    torch_model = family.build_torch(config, 0, torch_variant)
    tf_model = family.build_tf(config, 1, tf_variant)
    family.copy_torch_to_tf(torch_model, tf_model)
    batch = family.make_batch(config, BATCH, seq_len, seed=batch_seed)
    return Pair(family, config, torch_model, tf_model, batch, torch_variant, tf_variant)


def max_abs_diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def assert_outputs_close(expected: np.ndarray, actual: np.ndarray) -> float:
    """Same shape and max |diff| <= OUT_RTOL * max(1, max|expected|); returns the max |diff|."""
    assert expected.shape == actual.shape
    diff = max_abs_diff(expected, actual)
    assert diff <= OUT_RTOL * max(1.0, float(np.abs(expected).max())), f"eval outputs: max |diff| {diff:.3g}"
    return diff


def assert_loss_close(expected: float, actual: float) -> float:
    """|diff| <= LOSS_RTOL * max(1, |expected|); returns the |diff|."""
    diff = abs(expected - actual)
    assert diff <= LOSS_RTOL * max(1.0, abs(expected)), f"loss {expected} vs {actual}"
    return diff


def check_eval_outputs(pair: Pair) -> None:
    """Equal trainable parameter counts and equal eval outputs."""
    assert T.count_params_torch(pair.torch_model) == T.count_params_tf(pair.tf_model)
    out_torch = T.torch_infer_step(pair.torch_model, pair.torch_batch()).numpy()
    assert_outputs_close(out_torch, np.asarray(T.tf_infer_step(pair.tf_model, pair.tf_batch())))


def check_training_step(pair: Pair, tf_step: Callable[..., Any] = T.tf_train_step) -> None:
    """One SGD step from the same weights: the same loss and the same updated trainable weights
    (every tensor, compared by copying the stepped torch weights into a fresh keras model of the
    pair's variant). `tf_step` is T.tf_train_step or a tf.function of it."""
    loss_torch = T.torch_train_step(pair.torch_model, T.torch_optimizer(pair.torch_model), pair.torch_batch()).item()
    assert_loss_close(loss_torch, float(tf_step(pair.tf_model, T.tf_optimizer(pair.tf_model), pair.tf_batch())))

    stepped = pair.family.build_tf(pair.config, 3, pair.tf_variant)
    pair.family.copy_torch_to_tf(pair.torch_model, stepped)  # torch's updated weights, in keras layout
    expected = stepped.trainable_variables
    actual = pair.tf_model.trainable_variables
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual):
        diff = max_abs_diff(want, got)
        assert diff <= WEIGHT_ATOL, f"{got.path}: max |diff| {diff:.3g}"

