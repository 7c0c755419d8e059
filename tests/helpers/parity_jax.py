"""PyTorch <-> JAX (Flax NNX) parity checks of a model pair, for test_models_jax.

The JAX counterpart of helpers.parity, with its tolerances and config (parity_config): the torch
model from seed 0, the Flax model from seed 1 overwritten by family.copy_torch_to_jax. Weights are
compared by NNX path (flax_models.common.weight_variables): every nnx.Param and every BatchNorm
statistic.

The batch comes from seed 3, not helpers.parity's 2: in the tiny cnn, seed 2's batch puts one
pre-activation of the first stage's residual ReLU within 1e-6 of zero (6.4e-7 in float64), inside
the float32 rounding of the convolutions, which differs between XLA's and oneDNN's kernels (Keras
on TensorFlow shares oneDNN with torch). That ReLU then takes the other side in JAX, and that one
element's gradient moves the first stage's weights by up to 1.5e-5 > WEIGHT_ATOL; torch's float32
step agrees with a float64 one to 1.4e-7 there. Seeds 3, 4 and 5 have no such tie in any cnn size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from helpers.parity import (
    BATCH,
    SEQ_LEN,
    WEIGHT_ATOL,
    assert_loss_close,
    assert_outputs_close,
    max_abs_diff,
    parity_config,
)

from fwbench.models import ModelFamily
from fwbench.models import training as T
from fwbench.models import training_jax as J


@dataclass
class JaxPair:
    family: ModelFamily
    config: Any
    torch_model: Any
    jax_model: Any
    batch: dict[str, np.ndarray]

    def torch_batch(self) -> dict[str, Any]:
        return T.to_torch(self.batch, "cpu")

    def jax_batch(self) -> dict[str, Any]:
        return J.to_jax(self.batch, "cpu")


@dataclass(frozen=True)
class Diffs:
    """The worst differences one check measured (for the record; the checks assert the tolerances)."""

    outputs: float = 0.0
    loss: float = 0.0
    weights: float = 0.0


def make_jax_pair(model: str, size: str, seq_len: int = SEQ_LEN, batch_seed: int = 3) -> JaxPair:
    family, config = parity_config(model, size, seq_len)
    torch_model = family.build_torch(config, 0)
    jax_model = family.build_jax(config, 1)
    family.copy_torch_to_jax(torch_model, jax_model)
    return JaxPair(family, config, torch_model, jax_model, family.make_batch(config, BATCH, seq_len, seed=batch_seed))


def weights_np(jax_model: Any) -> dict[str, np.ndarray]:
    """Every parameter and BatchNorm statistic of a Flax model as numpy, by NNX path."""
    from fwbench.models.flax_models.common import weight_variables

    return {path: np.asarray(variable.get_value()) for path, variable in weight_variables(jax_model).items()}


def check_jax_eval_outputs(pair: JaxPair, jit: bool = True) -> Diffs:
    """Equal trainable parameter counts and equal eval outputs (the infer step, jitted or op by op)."""
    assert T.count_params_torch(pair.torch_model) == J.count_params_jax(pair.jax_model)
    out_torch = T.torch_infer_step(pair.torch_model, pair.torch_batch()).numpy()
    out_jax = np.asarray(J.make_jax_step(pair.jax_model, "infer", jit)(pair.jax_batch()))
    return Diffs(outputs=assert_outputs_close(out_torch, out_jax))


def check_jax_training_step(pair: JaxPair, jit: bool = True) -> Diffs:
    """One SGD step from the same weights: the same loss and the same updated weights and BatchNorm
    statistics (every tensor, compared with the stepped torch model copied into a clone of the
    Flax model: the copy overwrites every parameter and statistic, or raises)."""
    from flax import nnx

    loss_torch = T.torch_train_step(pair.torch_model, T.torch_optimizer(pair.torch_model), pair.torch_batch()).item()
    step = J.make_jax_step(pair.jax_model, "train", jit)
    loss_diff = assert_loss_close(loss_torch, float(step(pair.jax_batch())))
    step.sync_model()

    stepped = nnx.clone(pair.jax_model)
    pair.family.copy_torch_to_jax(pair.torch_model, stepped)  # torch's updated weights, in Flax layout
    expected, actual = weights_np(stepped), weights_np(pair.jax_model)
    assert expected.keys() == actual.keys()
    worst = 0.0
    for path, want in expected.items():
        diff = max_abs_diff(want, actual[path])
        assert diff <= WEIGHT_ATOL, f"{path}: max |diff| {diff:.3g}"
        worst = max(worst, diff)
    return Diffs(loss=loss_diff, weights=worst)
