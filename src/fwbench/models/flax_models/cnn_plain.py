"""The cnn_plain family (VGG-style, no BatchNorm, fwbench.models.cnn_plain) in Flax NNX, NHWC.

Same layers as the torch model: 3x3 convs with bias padded 1 on every side, ReLU, a 2x2 stride-2
max-pool after each stage, flatten, dense + ReLU, dense. The activations are NHWC, so the flatten
is in (h, w, c) order, the order the torch model flattens in (it permutes to NHWC first): fc1's
kernel copies by a plain transpose.
"""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from fwbench.models.cnn_plain import CNNPlainConfig, conv_specs
from fwbench.models.flax_models import common


class PlainCNN(nnx.Module):
    def __init__(self, config: CNNPlainConfig, *, rngs: nnx.Rngs) -> None:
        self.convs_per_stage = config.convs_per_stage
        self.convs = nnx.List([nnx.Conv(i, o, (3, 3), padding=((1, 1), (1, 1)), rngs=rngs)
                               for i, o, _ in conv_specs(config)])
        self.fc1 = nnx.Linear(config.flat_features, config.hidden, rngs=rngs)
        self.fc2 = nnx.Linear(config.hidden, config.num_classes, rngs=rngs)

    def __call__(self, images: jax.Array) -> jax.Array:
        x = images
        for index, conv in enumerate(self.convs):
            x = jax.nn.relu(conv(x))
            if (index + 1) % self.convs_per_stage == 0:
                x = nnx.max_pool(x, (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[0], -1)  # NHWC order, as the torch model's permuted flatten
        return self.fc2(jax.nn.relu(self.fc1(x)))


def build(config: CNNPlainConfig, seed: int) -> PlainCNN:
    return PlainCNN(config, rngs=nnx.Rngs(seed))


def copy_torch(t: Any, jax_model: PlainCNN) -> None:
    """The torch PlainCNN `t`'s parameters into `jax_model`."""
    arrays = {**common.linear("fc1", t.fc1), **common.linear("fc2", t.fc2)}
    for k, layer in enumerate(t.convs):
        arrays.update(common.conv(f"convs.{k}", layer))
    common.load_arrays(jax_model, arrays)
