"""BERT encoder with a classification head on [CLS], written from framework layers.

Token + position + segment embeddings -> LayerNorm -> dropout, then post-LN encoder layers
(multi-head self-attention from Linear/Dense projections with explicit matmul-softmax-matmul,
exact erf GELU feed-forward of width 4*hidden), then BERT's pooler (dense + tanh on position 0)
and a dense classifier. Every layer maps 1:1 between torch Linear/LayerNorm/Embedding and Keras
Dense/LayerNormalization/Embedding, so weights copy by a transpose.

Choices, the same in both frameworks:
- GELU: exact (erf) form; Keras's gelu defaults to the tanh approximation, so it is set off.
- LayerNorm eps 1e-12 (BERT's value); attention padding bias -1e9 on masked keys.
- Attention written out (no fused SDPA kernel) so both frameworks run the same op graph.
- Vocabulary 8192 (not WordPiece's 30522): with 128-512 hidden units a 30k table would dominate
  the parameter count and the dense embedding-gradient update the step time; nothing is
  downloaded, inputs are synthetic token ids, so the vocabulary size is a free choice.
- Dropout rate in the config (default 0.1); parity of a training step uses dropout 0.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fwbench import constants as C
from fwbench.models.base import LABELS, ModelFamily, assign, check_positive, keras_module, rng, tensor_np

INPUT_IDS = "input_ids"
TOKEN_TYPE_IDS = "token_type_ids"
ATTENTION_MASK = "attention_mask"
MASK_BIAS = -1e9
PAD_ID = 0
CLS_ID = 1


@dataclass(frozen=True)
class BertConfig:
    size: str
    num_layers: int
    hidden: int
    num_heads: int
    seq_len: int
    vocab_size: int = 8192
    max_position: int = 512
    type_vocab_size: int = 2
    num_labels: int = 2
    dropout: float = 0.1
    ln_eps: float = 1e-12

    @property
    def intermediate(self) -> int:
        return 4 * self.hidden

    @property
    def head_dim(self) -> int:
        return self.hidden // self.num_heads

    def without_dropout(self) -> "BertConfig":
        return replace(self, dropout=0.0)


_SIZES: dict[str, tuple[int, int, int]] = {  # layers, hidden, heads
    "tiny": (2, 128, 2),
    "mini": (4, 256, 4),
    "small": (4, 512, 8),
}


@functools.cache
def _torch_classes() -> Any:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class EncoderLayerTorch(nn.Module):
        def __init__(self, config: BertConfig) -> None:
            super().__init__()
            h = config.hidden
            self.num_heads, self.head_dim = config.num_heads, config.head_dim
            self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
            self.attn_out = nn.Linear(h, h)
            self.attn_ln = nn.LayerNorm(h, eps=config.ln_eps)
            self.inter = nn.Linear(h, config.intermediate)
            self.out = nn.Linear(config.intermediate, h)
            self.out_ln = nn.LayerNorm(h, eps=config.ln_eps)
            self.dropout = nn.Dropout(config.dropout)

        def _heads(self, x: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape
            return x.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            b, t, h = x.shape
            q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim)) + bias
            probs = self.dropout(torch.softmax(scores, dim=-1))
            context = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
            x = self.attn_ln(x + self.dropout(self.attn_out(context)))
            return self.out_ln(x + self.dropout(self.out(F.gelu(self.inter(x)))))

    class BertTorch(nn.Module):
        def __init__(self, config: BertConfig) -> None:
            super().__init__()
            h = config.hidden
            self.word = nn.Embedding(config.vocab_size, h)
            self.position = nn.Embedding(config.max_position, h)
            self.token_type = nn.Embedding(config.type_vocab_size, h)
            self.emb_ln = nn.LayerNorm(h, eps=config.ln_eps)
            self.dropout = nn.Dropout(config.dropout)
            self.layers = nn.ModuleList(EncoderLayerTorch(config) for _ in range(config.num_layers))
            self.pooler = nn.Linear(h, h)
            self.classifier = nn.Linear(h, config.num_labels)

        def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor,
                    attention_mask: torch.Tensor) -> torch.Tensor:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            x = self.word(input_ids) + self.position(positions) + self.token_type(token_type_ids)
            x = self.dropout(self.emb_ln(x))
            bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * MASK_BIAS
            for layer in self.layers:
                x = layer(x, bias)
            pooled = torch.tanh(self.pooler(x[:, 0]))
            return self.classifier(self.dropout(pooled))

    return BertTorch


@functools.cache
def _tf_classes() -> Any:
    keras = keras_module()
    layers, ops = keras.layers, keras.ops

    class EncoderLayerTF(layers.Layer):
        def __init__(self, config: BertConfig, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            h = config.hidden
            self.num_heads, self.head_dim = config.num_heads, config.head_dim
            self.query, self.key, self.value = layers.Dense(h), layers.Dense(h), layers.Dense(h)
            self.attn_out = layers.Dense(h)
            self.attn_ln = layers.LayerNormalization(epsilon=config.ln_eps)
            self.inter = layers.Dense(config.intermediate)
            self.out = layers.Dense(h)
            self.out_ln = layers.LayerNormalization(epsilon=config.ln_eps)
            self.dropout = layers.Dropout(config.dropout)

        def _heads(self, x: Any) -> Any:
            b, t = ops.shape(x)[0], ops.shape(x)[1]
            return ops.transpose(ops.reshape(x, (b, t, self.num_heads, self.head_dim)), (0, 2, 1, 3))

        def call(self, x: Any, bias: Any, training: Any = None) -> Any:
            b, t, h = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
            q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
            scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (1.0 / math.sqrt(self.head_dim)) + bias
            probs = self.dropout(ops.softmax(scores, axis=-1), training=training)
            context = ops.reshape(ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3)), (b, t, h))
            x = self.attn_ln(x + self.dropout(self.attn_out(context), training=training))
            ffn = self.out(ops.gelu(self.inter(x), approximate=False))
            return self.out_ln(x + self.dropout(ffn, training=training))

    class BertTF(keras.Model):
        def __init__(self, config: BertConfig, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            h = config.hidden
            self.word = layers.Embedding(config.vocab_size, h)
            self.position = layers.Embedding(config.max_position, h)
            self.token_type = layers.Embedding(config.type_vocab_size, h)
            self.emb_ln = layers.LayerNormalization(epsilon=config.ln_eps)
            self.dropout = layers.Dropout(config.dropout)
            self.encoder = [EncoderLayerTF(config, name=f"layer{k}") for k in range(config.num_layers)]
            self.pooler = layers.Dense(h, activation="tanh")
            self.classifier = layers.Dense(config.num_labels)

        def call(self, inputs: dict[str, Any], training: Any = None) -> Any:
            ids = inputs[INPUT_IDS]
            positions = ops.arange(ops.shape(ids)[1])
            x = self.word(ids) + self.position(positions)[None] + self.token_type(inputs[TOKEN_TYPE_IDS])
            x = self.dropout(self.emb_ln(x), training=training)
            mask = ops.cast(inputs[ATTENTION_MASK], x.dtype)
            bias = (1.0 - mask[:, None, None, :]) * MASK_BIAS
            for layer in self.encoder:
                x = layer(x, bias, training=training)
            pooled = self.pooler(x[:, 0])
            return self.classifier(self.dropout(pooled, training=training))

    return BertTF


def _copy_dense(linear: Any, dense: Any) -> None:
    assign(dense.kernel, tensor_np(linear.weight).T)
    assign(dense.bias, tensor_np(linear.bias))


def _copy_ln(ln: Any, layer: Any) -> None:
    assign(layer.gamma, tensor_np(ln.weight))
    assign(layer.beta, tensor_np(ln.bias))


class BertFamily(ModelFamily[BertConfig]):
    name = "bert"

    def config(self, size: str, seq_len: int) -> BertConfig:
        self.check_size(size)
        check_positive("seq_len", seq_len)
        layers, hidden, heads = _SIZES[size]
        config = BertConfig(size=size, num_layers=layers, hidden=hidden, num_heads=heads, seq_len=seq_len)
        if seq_len > config.max_position:
            raise ValueError(f"bert seq_len {seq_len} exceeds max_position {config.max_position}")
        return config

    def make_batch(self, config: BertConfig, batch_size: int, seq_len: int, seed: int) -> dict[str, np.ndarray]:
        """Random token ids, [CLS] first, each sequence padded after a random length in
        [seq_len/2, seq_len]; segment 1 covers the second half of the unpadded tokens."""
        check_positive("batch_size", batch_size)
        check_positive("seq_len", seq_len)
        if seq_len > config.max_position:
            raise ValueError(f"bert seq_len {seq_len} exceeds max_position {config.max_position}")
        gen = rng(seed)
        lengths = gen.integers(max(1, seq_len // 2), seq_len + 1, size=(batch_size, 1))
        positions = np.arange(seq_len)[None, :]
        mask = positions < lengths
        ids = gen.integers(CLS_ID + 1, config.vocab_size, size=(batch_size, seq_len), dtype=np.int64)
        ids[:, 0] = CLS_ID
        ids[~mask] = PAD_ID
        types = ((positions >= (lengths + 1) // 2) & mask).astype(np.int64)
        return {
            INPUT_IDS: ids,
            TOKEN_TYPE_IDS: types,
            ATTENTION_MASK: mask.astype(np.int64),
            LABELS: gen.integers(0, config.num_labels, size=(batch_size,), dtype=np.int64),
        }

    def build_torch(self, config: BertConfig, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        import torch

        self.check_variant("torch", variant)  # no_onednn only: a process-level switch, same model
        torch.manual_seed(seed)
        return _torch_classes()(config)

    def build_tf(self, config: BertConfig, seed: int, variant: str = C.STANDARD_VARIANT) -> Any:
        keras = keras_module()
        self.check_variant("tensorflow", variant)  # no_onednn only: a process-level switch, same model
        keras.utils.set_random_seed(seed)
        model = _tf_classes()(config, name="bert")
        dummy = self.make_batch(config, 1, min(max(1, config.seq_len), config.max_position), seed)
        dummy.pop(LABELS)
        model(dummy, training=False)
        return model

    def copy_torch_to_tf(self, torch_model: Any, tf_model: Any) -> None:
        assign(tf_model.word.embeddings, tensor_np(torch_model.word.weight))
        assign(tf_model.position.embeddings, tensor_np(torch_model.position.weight))
        assign(tf_model.token_type.embeddings, tensor_np(torch_model.token_type.weight))
        _copy_ln(torch_model.emb_ln, tf_model.emb_ln)
        if len(torch_model.layers) != len(tf_model.encoder):
            raise ValueError(f"layer count differs: torch {len(torch_model.layers)} vs keras {len(tf_model.encoder)}")
        for tl, kl in zip(torch_model.layers, tf_model.encoder):
            for name in ("query", "key", "value", "attn_out", "inter", "out"):
                _copy_dense(getattr(tl, name), getattr(kl, name))
            _copy_ln(tl.attn_ln, kl.attn_ln)
            _copy_ln(tl.out_ln, kl.out_ln)
        _copy_dense(torch_model.pooler, tf_model.pooler)
        _copy_dense(torch_model.classifier, tf_model.classifier)

    def flops_per_sample(self, config: BertConfig, seq_len: int) -> float:
        t, h = float(seq_len), float(config.hidden)
        per_layer = 2 * t * h * h * 4 + 2 * 2 * t * t * h + 2 * 2 * t * h * config.intermediate
        return config.num_layers * per_layer + 2 * h * h + 2 * h * config.num_labels


FAMILY = BertFamily()
