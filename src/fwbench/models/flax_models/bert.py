"""The bert family (BERT encoder + [CLS] classifier, fwbench.models.bert) in Flax NNX.

Same layers and op graph as the torch model: token + position + segment embeddings, LayerNorm,
dropout; post-LN encoder layers with attention written out (matmul, scale, additive mask bias
MASK_BIAS on padded keys, softmax, dropout, matmul), exact erf GELU feed-forward; pooler (dense +
tanh on position 0), dropout, classifier. One nnx.Dropout per torch nn.Dropout, called at the
same places; each call draws a fresh key from its RNG stream, so masks differ per call and per
step. LayerNorm: eps 1e-12 and the two-pass variance (use_fast_variance=False), torch's and
Keras's computation; Flax's default E[x^2] - E[x]^2 loses precision when the mean is large.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from fwbench.models.bert import MASK_BIAS, BertConfig
from fwbench.models.flax_models import common


def _layer_norm(config: BertConfig, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(config.hidden, epsilon=config.ln_eps, use_fast_variance=False, rngs=rngs)


class EncoderLayer(nnx.Module):
    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs) -> None:
        h = config.hidden
        self.num_heads, self.head_dim = config.num_heads, config.head_dim
        self.query, self.key, self.value = (nnx.Linear(h, h, rngs=rngs) for _ in range(3))
        self.attn_out = nnx.Linear(h, h, rngs=rngs)
        self.attn_ln = _layer_norm(config, rngs)
        self.inter = nnx.Linear(h, config.intermediate, rngs=rngs)
        self.out = nnx.Linear(config.intermediate, h, rngs=rngs)
        self.out_ln = _layer_norm(config, rngs)
        self.dropout = nnx.Dropout(config.dropout, rngs=rngs)

    def _heads(self, x: jax.Array) -> jax.Array:
        b, t, _ = x.shape
        return x.reshape(b, t, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def __call__(self, x: jax.Array, bias: jax.Array) -> jax.Array:
        b, t, h = x.shape
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scores = jnp.matmul(q, k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(self.head_dim)) + bias
        probs = self.dropout(jax.nn.softmax(scores, axis=-1))
        context = jnp.matmul(probs, v).transpose(0, 2, 1, 3).reshape(b, t, h)
        x = self.attn_ln(x + self.dropout(self.attn_out(context)))
        return self.out_ln(x + self.dropout(self.out(jax.nn.gelu(self.inter(x), approximate=False))))


class Bert(nnx.Module):
    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs) -> None:
        h = config.hidden
        self.word = nnx.Embed(config.vocab_size, h, rngs=rngs)
        self.position = nnx.Embed(config.max_position, h, rngs=rngs)
        self.token_type = nnx.Embed(config.type_vocab_size, h, rngs=rngs)
        self.emb_ln = _layer_norm(config, rngs)
        self.dropout = nnx.Dropout(config.dropout, rngs=rngs)
        self.layers = nnx.List([EncoderLayer(config, rngs=rngs) for _ in range(config.num_layers)])
        self.pooler = nnx.Linear(h, h, rngs=rngs)
        self.classifier = nnx.Linear(h, config.num_labels, rngs=rngs)

    def __call__(self, input_ids: jax.Array, token_type_ids: jax.Array, attention_mask: jax.Array) -> jax.Array:
        positions = jnp.arange(input_ids.shape[1])
        x = self.word(input_ids) + self.position(positions)[None] + self.token_type(token_type_ids)
        x = self.dropout(self.emb_ln(x))
        bias = (1.0 - attention_mask[:, None, None, :].astype(x.dtype)) * MASK_BIAS
        for layer in self.layers:
            x = layer(x, bias)
        pooled = jnp.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.dropout(pooled))


def build(config: BertConfig, seed: int) -> Bert:
    return Bert(config, rngs=nnx.Rngs(seed))


def copy_torch(t: Any, jax_model: Bert) -> None:
    """The torch BertTorch `t`'s parameters into `jax_model`."""
    arrays = {**common.embedding("word", t.word), **common.embedding("position", t.position),
              **common.embedding("token_type", t.token_type), **common.layer_norm("emb_ln", t.emb_ln),
              **common.linear("pooler", t.pooler), **common.linear("classifier", t.classifier)}
    for k, layer in enumerate(t.layers):
        for name in ("query", "key", "value", "attn_out", "inter", "out"):
            arrays.update(common.linear(f"layers.{k}.{name}", getattr(layer, name)))
        for name in ("attn_ln", "out_ln"):
            arrays.update(common.layer_norm(f"layers.{k}.{name}", getattr(layer, name)))
    common.load_arrays(jax_model, arrays)
