"""The cnn family (CIFAR ResNet, fwbench.models.cnn) in Flax NNX, NHWC.

Same blocks as the torch model: bias-free 3x3 convs padded 1 on every side at stride 1 and 2
(explicit padding, so no 'SAME' asymmetry at stride 2), BatchNorm, ReLU, 1x1 stride-2 projection
shortcuts, global average pool, dense.

BatchNorm (TorchBatchNorm below): torch's semantics exactly. eps 1e-5; Flax's momentum is the
weight of the old running value, so it is 1 - torch's 0.1 (as Keras's); the output is normalised
with the biased batch variance, and the running variance is updated with the unbiased one, as
torch does (nnx.BatchNorm, like Keras's standard layer, would use the biased one there, so the
running statistics after a step would differ from torch's). It subclasses nnx.BatchNorm for its
variables (scale, bias, mean, var) and train()/eval() switch (use_running_average).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from fwbench.models.cnn import CNNConfig, block_specs
from fwbench.models.flax_models import common

PAD1 = ((1, 1), (1, 1))  # torch padding=1: one pixel before and after, at any stride


class TorchBatchNorm(nnx.BatchNorm):
    """nnx.BatchNorm over the last (channel) axis with torch's running-variance update (see module docstring)."""

    def __call__(self, x: jax.Array, use_running_average: bool | None = None, *,  # type: ignore[override]
                 mask: jax.Array | None = None) -> jax.Array:
        if mask is not None:
            raise NotImplementedError("TorchBatchNorm does not take a mask")
        use_running = self.use_running_average if use_running_average is None else use_running_average
        if use_running:
            mean, var = self.mean[...], self.var[...]
        else:
            axes = tuple(range(x.ndim - 1))
            mean = jnp.mean(x, axis=axes)
            var = jnp.mean(jnp.square(x - mean), axis=axes)  # two-pass, biased: what normalises the batch
            count = x.size // x.shape[-1]
            unbiased = var * (count / max(count - 1, 1))
            self.mean[...] = self.momentum * self.mean[...] + (1.0 - self.momentum) * mean
            self.var[...] = self.momentum * self.var[...] + (1.0 - self.momentum) * unbiased
        return (x - mean) * (jax.lax.rsqrt(var + self.epsilon) * self.scale[...]) + self.bias[...]


def _bn(channels: int, config: CNNConfig, rngs: nnx.Rngs) -> TorchBatchNorm:
    return TorchBatchNorm(channels, momentum=1.0 - config.bn_momentum, epsilon=config.bn_eps, rngs=rngs)


def _conv3x3(cin: int, cout: int, stride: int, rngs: nnx.Rngs) -> nnx.Conv:
    return nnx.Conv(cin, cout, (3, 3), strides=stride, padding=PAD1, use_bias=False, rngs=rngs)


class ResidualBlock(nnx.Module):
    """BasicBlock: conv-BN-ReLU, conv-BN, plus the (projected) shortcut, ReLU."""

    def __init__(self, cin: int, cout: int, stride: int, config: CNNConfig, *, rngs: nnx.Rngs) -> None:
        self.conv1 = _conv3x3(cin, cout, stride, rngs)
        self.bn1 = _bn(cout, config, rngs)
        self.conv2 = _conv3x3(cout, cout, 1, rngs)
        self.bn2 = _bn(cout, config, rngs)
        self.project = stride != 1 or cin != cout
        if self.project:
            self.proj = nnx.Conv(cin, cout, (1, 1), strides=stride, padding="VALID", use_bias=False, rngs=rngs)
            self.proj_bn = _bn(cout, config, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        out = jax.nn.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = self.proj_bn(self.proj(x)) if self.project else x
        return jax.nn.relu(out + shortcut)


class ResNet(nnx.Module):
    def __init__(self, config: CNNConfig, *, rngs: nnx.Rngs) -> None:
        self.stem = _conv3x3(config.channels, config.width, 1, rngs)
        self.stem_bn = _bn(config.width, config, rngs)
        self.blocks = nnx.List([ResidualBlock(i, o, s, config, rngs=rngs) for i, o, s in block_specs(config)])
        self.fc = nnx.Linear(config.stage_widths[-1], config.num_classes, rngs=rngs)

    def __call__(self, images: jax.Array) -> jax.Array:
        x = jax.nn.relu(self.stem_bn(self.stem(images)))
        for block in self.blocks:
            x = block(x)
        return self.fc(jnp.mean(x, axis=(1, 2)))


def build(config: CNNConfig, seed: int) -> ResNet:
    return ResNet(config, rngs=nnx.Rngs(seed))


def copy_torch(t: Any, jax_model: ResNet) -> None:
    """The torch ResNet `t`'s parameters and BatchNorm running statistics into `jax_model`."""
    arrays = {**common.conv("stem", t.stem), **common.batch_norm("stem_bn", t.stem_bn), **common.linear("fc", t.fc)}
    for k, block in enumerate(t.blocks):
        names = ("conv1", "bn1", "conv2", "bn2") + (("proj", "proj_bn") if block.project else ())
        for name in names:
            copy = common.batch_norm if "bn" in name else common.conv
            arrays.update(copy(f"blocks.{k}.{name}", getattr(block, name)))
    common.load_arrays(jax_model, arrays)
