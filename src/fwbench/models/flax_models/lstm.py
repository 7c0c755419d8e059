"""The lstm family (embedding + 2-layer LSTM language model, fwbench.models.lstm) in Flax NNX.

Each LSTM layer is Flax's own: nnx.RNN (a scan over time) of nnx.OptimizedLSTMCell, whose gates
are y = x_t @ dense_i.kernel + h @ dense_h.kernel + dense_h.bias split in torch's order i, f, g, o
(sigmoid gates, tanh cell activation), zero initial state. Like Keras's LSTM it has one bias
vector per layer, so the function class and the trainable parameter count are the torch model's,
whose second bias b_hh is frozen at zero: the copy writes b_ih + b_hh (== b_ih) into dense_h.bias.
Initialisation is Flax's default (zero bias; Keras's unit forget-gate bias is Keras's default,
torch's uniform bias torch's); it does not matter for parity, where the weights are copied.
The input projection runs inside the scan, step by step, as in Keras's standard LSTM layer.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from fwbench.models.base import tensor_np
from fwbench.models.flax_models import common
from fwbench.models.lstm import LSTMConfig


class LSTMLM(nnx.Module):
    def __init__(self, config: LSTMConfig, *, rngs: nnx.Rngs) -> None:
        self.hidden = config.hidden
        self.embed = nnx.Embed(config.vocab_size, config.embed_dim, rngs=rngs)
        sizes = [config.embed_dim] + [config.hidden] * (config.num_layers - 1)
        # rngs=False: no carry RNG stream (the zero initial state is passed in), so the model's state is its weights.
        self.lstms = nnx.List([nnx.RNN(nnx.OptimizedLSTMCell(n, config.hidden, rngs=rngs), rngs=False)
                               for n in sizes])
        self.head = nnx.Linear(config.hidden, config.vocab_size, rngs=rngs)

    def __call__(self, tokens: jax.Array) -> jax.Array:
        x = self.embed(tokens)
        zeros = jnp.zeros((tokens.shape[0], self.hidden), x.dtype)
        for lstm in self.lstms:
            x = lstm(x, initial_carry=(zeros, zeros))  # (c, h)
        return self.head(x)


def build(config: LSTMConfig, seed: int) -> LSTMLM:
    return LSTMLM(config, rngs=nnx.Rngs(seed))


def copy_torch(t: Any, jax_model: LSTMLM) -> None:
    """The torch LSTMLM `t`'s parameters into `jax_model` (b_ih + b_hh as the one bias)."""
    arrays = {**common.embedding("embed", t.embed), **common.linear("head", t.head)}
    for layer in range(t.num_layers):
        cell = f"lstms.{layer}.cell"
        arrays[f"{cell}.dense_i.kernel"] = tensor_np(getattr(t.lstm, f"weight_ih_l{layer}")).T
        arrays[f"{cell}.dense_h.kernel"] = tensor_np(getattr(t.lstm, f"weight_hh_l{layer}")).T
        arrays[f"{cell}.dense_h.bias"] = (tensor_np(getattr(t.lstm, f"bias_ih_l{layer}"))
                                          + tensor_np(getattr(t.lstm, f"bias_hh_l{layer}")))
    common.load_arrays(jax_model, arrays)
