"""Embedding + 2-layer LSTM language model: next-token prediction at every sequence position.

Tokens (B, T) -> Embedding(V, E) -> LSTM(H) -> LSTM(H) -> Dense(V) logits (B, T, V); the loss is
the mean cross-entropy against the batch's next tokens. Gate order is i, f, g(c), o in both
frameworks, sigmoid gates and tanh cell activation, so kernels map by a transpose.

Bias: torch's nn.LSTM has two bias vectors per layer (b_ih, b_hh), Keras's LSTM one. To make the
function class and the trainable parameter count identical, the torch model's b_hh is set to
zero and frozen (requires_grad=False): it is then not a trainable parameter, the optimizer skips
it, and the Keras bias equals torch's b_ih (the copy writes b_ih + b_hh, which is the same).

Variants (constants.VARIANTS), TensorFlow only besides no_onednn (a process-level switch set by
the harness: the model is the standard one):
- `hoisted_input`: HoistedLSTM below. Keras's LSTMCell multiplies x_t by the input kernel inside
  the recurrence, one small matmul per timestep; PyTorch's CPU LSTM computes the input projection
  of every timestep in one matmul first. This layer does the same, then runs the recurrence over
  the pre-projected 4H inputs; same variables (kernel, recurrent_kernel, bias) and shapes.
- `unroll`: keras.layers.LSTM(unroll=True); the graph grows with every timestep, so sequences
  longer than constants.UNROLL_MAX_SEQ_LEN are refused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from fwbench import constants as C
from fwbench.models.base import LABELS, ModelFamily, assign, check_positive, keras_module, rng, tensor_np

TOKENS = "tokens"


@dataclass(frozen=True)
class LSTMConfig:
    size: str
    vocab_size: int
    embed_dim: int
    hidden: int
    seq_len: int
    num_layers: int = 2


_SIZES: dict[str, tuple[int, int, int]] = {  # vocab, embed, hidden
    "tiny": (256, 32, 64),
    "small": (4096, 128, 256),
    "medium": (8192, 256, 512),
}


@functools.cache
def _torch_classes() -> Any:
    import torch
    from torch import nn

    class LSTMLMTorch(nn.Module):
        def __init__(self, config: LSTMConfig) -> None:
            super().__init__()
            self.num_layers = config.num_layers
            self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
            self.lstm = nn.LSTM(config.embed_dim, config.hidden, num_layers=config.num_layers, batch_first=True)
            for layer in range(config.num_layers):  # Keras has one bias: freeze b_hh at zero
                b_hh = getattr(self.lstm, f"bias_hh_l{layer}")
                with torch.no_grad():
                    b_hh.zero_()
                b_hh.requires_grad_(False)
            self.head = nn.Linear(config.hidden, config.vocab_size)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out)

    return LSTMLMTorch


@functools.cache
def _hoisted_lstm_class() -> Any:
    """HoistedLSTM: input projection of all timesteps in one matmul, then the recurrence (`hoisted_input`).

    The layer owns kernel (E, 4H) and bias (4H,), its cell recurrent_kernel (H, 4H): the shapes,
    initialisers and gate order (i, f, g, o) of Keras's LSTMCell, so weights copy identically.
    """
    keras = keras_module()
    layers, ops = keras.layers, keras.ops

    class ProjectedLSTMCell(layers.Layer):
        """An LSTM cell whose input is already x_t @ kernel + bias: z = x_t + h @ recurrent_kernel."""

        def __init__(self, units: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, units]
            self.output_size = units

        def build(self, input_shape: Any) -> None:
            self.recurrent_kernel = self.add_weight(shape=(self.units, 4 * self.units), initializer="orthogonal",
                                                    name="recurrent_kernel")

        def call(self, inputs: Any, states: Any, training: Any = None) -> Any:
            h, c = states
            z = inputs + ops.matmul(h, self.recurrent_kernel)
            i, f, g, o = ops.split(z, 4, axis=-1)
            c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(c)
            return h, [h, c]

    def unit_forget_bias(shape: Any, dtype: Any = None) -> Any:
        """Keras's LSTMCell bias initialiser (unit_forget_bias=True): ones on the forget gate."""
        units = shape[0] // 4
        return ops.concatenate([ops.zeros((units,), dtype), ops.ones((units,), dtype), ops.zeros((2 * units,), dtype)])

    class HoistedLSTM(layers.Layer):
        def __init__(self, units: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.units = units
            self.rnn = layers.RNN(ProjectedLSTMCell(units, name="cell"), return_sequences=True, name="rnn")

        @property
        def cell(self) -> Any:
            return self.rnn.cell

        def build(self, input_shape: Any) -> None:
            gates = 4 * self.units
            self.kernel = self.add_weight(shape=(int(input_shape[-1]), gates), initializer="glorot_uniform",
                                          name="kernel")
            self.bias = self.add_weight(shape=(gates,), initializer=unit_forget_bias, name="bias")
            self.rnn.build((*input_shape[:-1], gates))

        def call(self, x: Any, training: Any = None) -> Any:
            return self.rnn(ops.matmul(x, self.kernel) + self.bias, training=training)

    return HoistedLSTM


def _lstm_variables(layer: Any) -> tuple[Any, Any, Any]:
    """(kernel, recurrent_kernel, bias) of a keras LSTM layer (all on its cell) or a HoistedLSTM
    (kernel and bias on the layer, whose cell has no input kernel)."""
    owner = layer.cell if hasattr(layer.cell, "kernel") else layer
    return owner.kernel, layer.cell.recurrent_kernel, owner.bias


@functools.cache
def _tf_classes() -> Any:
    keras = keras_module()
    layers = keras.layers

    def lstm(units: int, variant: str, name: str) -> Any:
        if variant == "hoisted_input":
            return _hoisted_lstm_class()(units, name=name)
        return layers.LSTM(units, return_sequences=True, unroll=variant == "unroll", name=name)

    class LSTMLMTF(keras.Model):
        def __init__(self, config: LSTMConfig, variant: str = C.STANDARD_VARIANT, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.embed = layers.Embedding(config.vocab_size, config.embed_dim)
            self.lstms = [lstm(config.hidden, variant, f"lstm{k}") for k in range(config.num_layers)]
            self.head = layers.Dense(config.vocab_size)

        def call(self, inputs: dict[str, Any], training: Any = None) -> Any:
            x = self.embed(inputs[TOKENS])
            for lstm in self.lstms:
                x = lstm(x, training=training)
            return self.head(x)

    return LSTMLMTF


class LSTMFamily(ModelFamily[LSTMConfig]):
    name = "lstm"

    def config(self, size: str, seq_len: int) -> LSTMConfig:
        self.check_size(size)
        check_positive("seq_len", seq_len)
        vocab, embed, hidden = _SIZES[size]
        return LSTMConfig(size=size, vocab_size=vocab, embed_dim=embed, hidden=hidden, seq_len=seq_len)

    def make_batch(self, config: LSTMConfig, batch_size: int, seq_len: int, seed: int) -> dict[str, np.ndarray]:
        check_positive("batch_size", batch_size)
        check_positive("seq_len", seq_len)
        stream = rng(seed).integers(0, config.vocab_size, size=(batch_size, seq_len + 1), dtype=np.int64)
        return {TOKENS: np.ascontiguousarray(stream[:, :-1]), LABELS: np.ascontiguousarray(stream[:, 1:])}

    def build_torch(self, config: LSTMConfig, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        import torch

        self.check_variant("torch", variant)
        torch.manual_seed(seed)
        return _torch_classes()(config)

    def build_tf(self, config: LSTMConfig, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        keras = keras_module()
        self.check_variant("tensorflow", variant)
        if variant == "unroll" and not 0 < config.seq_len <= C.UNROLL_MAX_SEQ_LEN:
            raise ValueError(f"the unroll variant needs a known seq_len of at most {C.UNROLL_MAX_SEQ_LEN}, "
                             f"got {config.seq_len!r}")
        keras.utils.set_random_seed(seed)
        model = _tf_classes()(config, variant, name="lstm_lm")
        model({TOKENS: np.zeros((1, max(1, config.seq_len)), np.int64)}, training=False)
        return model

    def copy_torch_to_tf(self, torch_model: Any, tf_model: Any) -> None:
        assign(tf_model.embed.embeddings, tensor_np(torch_model.embed.weight))
        lstm = torch_model.lstm
        for layer, klstm in enumerate(tf_model.lstms):
            kernel, recurrent_kernel, kbias = _lstm_variables(klstm)
            assign(kernel, tensor_np(getattr(lstm, f"weight_ih_l{layer}")).T)
            assign(recurrent_kernel, tensor_np(getattr(lstm, f"weight_hh_l{layer}")).T)
            bias = tensor_np(getattr(lstm, f"bias_ih_l{layer}")) + tensor_np(getattr(lstm, f"bias_hh_l{layer}"))
            assign(kbias, bias)
        assign(tf_model.head.kernel, tensor_np(torch_model.head.weight).T)
        assign(tf_model.head.bias, tensor_np(torch_model.head.bias))

    def flops_per_sample(self, config: LSTMConfig, seq_len: int) -> float:
        per_token = 0.0
        inputs = config.embed_dim
        for _ in range(config.num_layers):
            per_token += 2.0 * 4 * config.hidden * (inputs + config.hidden)
            inputs = config.hidden
        per_token += 2.0 * config.hidden * config.vocab_size
        return per_token * seq_len


FAMILY = LSTMFamily()
