"""Embedding + 2-layer LSTM language model: next-token prediction at every sequence position.

Tokens (B, T) -> Embedding(V, E) -> LSTM(H) -> LSTM(H) -> Dense(V) logits (B, T, V); the loss is
the mean cross-entropy against the batch's next tokens. Gate order is i, f, g(c), o in both
frameworks, sigmoid gates and tanh cell activation, so kernels map by a transpose.

Bias: torch's nn.LSTM has two bias vectors per layer (b_ih, b_hh), Keras's LSTM one. To make the
function class and the trainable parameter count identical, the torch model's b_hh is set to
zero and frozen (requires_grad=False): it is then not a trainable parameter, the optimizer skips
it, and the Keras bias equals torch's b_ih (the copy writes b_ih + b_hh, which is the same).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

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
def _tf_classes() -> Any:
    keras = keras_module()
    layers = keras.layers

    class LSTMLMTF(keras.Model):
        def __init__(self, config: LSTMConfig, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.embed = layers.Embedding(config.vocab_size, config.embed_dim)
            self.lstms = [layers.LSTM(config.hidden, return_sequences=True, name=f"lstm{k}") for k in range(config.num_layers)]
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

    def build_torch(self, config: LSTMConfig, seed: int) -> Any:
        import torch

        torch.manual_seed(seed)
        return _torch_classes()(config)

    def build_tf(self, config: LSTMConfig, seed: int) -> Any:
        keras = keras_module()
        keras.utils.set_random_seed(seed)
        model = _tf_classes()(config, name="lstm_lm")
        model({TOKENS: np.zeros((1, max(1, config.seq_len)), np.int64)}, training=False)
        return model

    def copy_torch_to_tf(self, torch_model: Any, tf_model: Any) -> None:
        assign(tf_model.embed.embeddings, tensor_np(torch_model.embed.weight))
        lstm = torch_model.lstm
        for layer, klstm in enumerate(tf_model.lstms):
            cell = klstm.cell
            assign(cell.kernel, tensor_np(getattr(lstm, f"weight_ih_l{layer}")).T)
            assign(cell.recurrent_kernel, tensor_np(getattr(lstm, f"weight_hh_l{layer}")).T)
            bias = tensor_np(getattr(lstm, f"bias_ih_l{layer}")) + tensor_np(getattr(lstm, f"bias_hh_l{layer}"))
            assign(cell.bias, bias)
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
