"""ResNet-style CNN for 32x32x3 images, 10 classes (the CIFAR ResNet of He et al. 2016).

A 3x3 stem, three stages of BasicBlocks (widths w, 2w, 4w; the first block of stages 2 and 3
halves the resolution with stride 2 and a 1x1 projection shortcut), global average pool, dense.
Convolutions carry no bias (BatchNorm follows). Same semantics in both frameworks:
- BatchNorm eps 1e-5, momentum 0.1 in torch's convention == 0.9 in Keras's.
- Padding: stride-1 3x3 convs pad 1 on every side ('same' in Keras is symmetric there); stride-2
  convs pad explicitly (ZeroPadding2D(1) + 'valid' in Keras) because Keras 'same' pads
  asymmetrically (0 before, 1 after) at stride 2 while torch pads 1 on both sides.
- Layout: NHWC in Keras, NCHW in torch (the torch batch is transposed by training.to_torch).
Known, harmless difference: torch updates running_var with the unbiased batch variance, Keras
with the biased one; it changes only the running statistics after a training step, never the
training-mode output or the gradients.

Variants (constants.VARIANTS): torch `channels_last` (weights in channels_last memory format; the
harness feeds channels_last images, training.to_torch(channels_last=True)); TensorFlow `fused_bn`
(every BatchNorm through the fused kernel, FusedBatchNorm below; its running variance is updated
with the unbiased batch variance, like torch's); `no_onednn` (a process-level switch set by the
harness: the model is the standard one).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any


from fwbench.models.base import IMAGES, ImageFamily, assign, keras_module, tensor_np


@dataclass(frozen=True)
class CNNConfig:
    size: str
    width: int  # channels of the first stage; stages use width, 2*width, 4*width
    blocks_per_stage: int
    num_classes: int = 10
    image_size: int = 32
    channels: int = 3
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1  # torch convention; Keras momentum = 1 - this

    @property
    def stage_widths(self) -> tuple[int, ...]:
        return (self.width, 2 * self.width, 4 * self.width)


_SIZES: dict[str, tuple[int, int]] = {
    "tiny": (8, 1),  # ~20k params, for tests
    "small": (16, 3),  # ResNet-20, ~0.27M
    "medium": (32, 3),  # ResNet-20 at twice the width, ~1.1M
}


def block_specs(config: CNNConfig) -> list[tuple[int, int, int]]:
    """(in_channels, out_channels, stride) of every block, in order."""
    specs = []
    cin = config.width
    for stage, cout in enumerate(config.stage_widths):
        for index in range(config.blocks_per_stage):
            stride = 2 if stage > 0 and index == 0 else 1
            specs.append((cin, cout, stride))
            cin = cout
    return specs


@functools.cache
def _torch_classes() -> Any:
    import torch
    from torch import nn

    class BlockTorch(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, config: CNNConfig) -> None:
            super().__init__()
            bn = functools.partial(nn.BatchNorm2d, eps=config.bn_eps, momentum=config.bn_momentum)
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = bn(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
            self.bn2 = bn(cout)
            self.project = stride != 1 or cin != cout
            if self.project:
                self.proj = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
                self.proj_bn = bn(cout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            shortcut = self.proj_bn(self.proj(x)) if self.project else x
            return torch.relu(out + shortcut)

    class ResNetTorch(nn.Module):
        def __init__(self, config: CNNConfig) -> None:
            super().__init__()
            self.stem = nn.Conv2d(config.channels, config.width, 3, padding=1, bias=False)
            self.stem_bn = nn.BatchNorm2d(config.width, eps=config.bn_eps, momentum=config.bn_momentum)
            self.blocks = nn.Sequential(*[BlockTorch(i, o, s, config) for i, o, s in block_specs(config)])
            self.fc = nn.Linear(config.stage_widths[-1], config.num_classes)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.stem_bn(self.stem(images)))
            x = self.blocks(x)
            return self.fc(torch.mean(x, dim=(2, 3)))

    return ResNetTorch


@functools.cache
def _fused_bn_class() -> Any:
    """FusedBatchNorm: a Keras layer over tf.compat.v1.nn.fused_batch_norm (NHWC), the `fused_bn` variant.

    Keras 3's BatchNormalization computes moments and normalises with separate ops; TF's fused
    kernel does it in one (the layer tf.keras 2 used). Weights are named as Keras's layer names
    them (gamma, beta trainable; moving_mean, moving_variance not), so cnn's _copy_bn fills either.
    Training: is_training=True with exponential_avg_factor = torch momentum, so the kernel returns
    (1 - m) * moving + m * batch statistics, assigned to the moving statistics; the batch variance
    in that update is the unbiased one (as in torch; Keras's layer uses the biased one).
    Inference: is_training=False with the moving statistics.
    Epsilon: older TF wrappers clamped it to >= 1.001e-5 (cuDNN's minimum); with 1e-5 that changes
    1/sqrt(var + eps) by about 5e-9 / (var + eps) relatively, far below the parity tolerances. TF
    2.21's wrapper passes 1e-5 through (measured: output equals the eps=1e-5 reference on CPU).
    """
    keras = keras_module()

    class FusedBatchNorm(keras.layers.Layer):
        def __init__(self, momentum: float, epsilon: float, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.momentum = momentum  # torch convention: weight of the batch statistics
            self.epsilon = epsilon

        def build(self, input_shape: Any) -> None:
            channels = (int(input_shape[-1]),)
            self.gamma = self.add_weight(shape=channels, initializer="ones", name="gamma")
            self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta")
            self.moving_mean = self.add_weight(shape=channels, initializer="zeros", trainable=False,
                                               name="moving_mean")
            self.moving_variance = self.add_weight(shape=channels, initializer="ones", trainable=False,
                                                   name="moving_variance")

        def call(self, x: Any, training: Any = None) -> Any:
            import tensorflow as tf

            common = dict(epsilon=self.epsilon, data_format="NHWC")
            mean, variance = self.moving_mean.value, self.moving_variance.value
            if training:
                y, new_mean, new_variance = tf.compat.v1.nn.fused_batch_norm(
                    x, self.gamma.value, self.beta.value, mean=mean, variance=variance, is_training=True,
                    exponential_avg_factor=self.momentum, **common)
                self.moving_mean.assign(new_mean)
                self.moving_variance.assign(new_variance)
                return y
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, self.gamma.value, self.beta.value, mean=mean, variance=variance, is_training=False, **common)
            return y

    return FusedBatchNorm


@functools.cache
def _tf_classes() -> Any:
    keras = keras_module()
    layers = keras.layers

    def bn(config: CNNConfig, fused: bool) -> Any:
        if fused:
            return _fused_bn_class()(momentum=config.bn_momentum, epsilon=config.bn_eps)
        return layers.BatchNormalization(momentum=1.0 - config.bn_momentum, epsilon=config.bn_eps)

    def conv3x3(cout: int, stride: int) -> Any:
        return layers.Conv2D(cout, 3, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False)

    class BlockTF(layers.Layer):
        def __init__(self, cin: int, cout: int, stride: int, config: CNNConfig, fused_bn: bool = False,
                     **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.pad = layers.ZeroPadding2D(1) if stride != 1 else None
            self.conv1 = conv3x3(cout, stride)
            self.bn1 = bn(config, fused_bn)
            self.conv2 = conv3x3(cout, 1)
            self.bn2 = bn(config, fused_bn)
            self.project = stride != 1 or cin != cout
            if self.project:
                self.proj = layers.Conv2D(cout, 1, strides=stride, padding="valid", use_bias=False)
                self.proj_bn = bn(config, fused_bn)

        def call(self, x: Any, training: Any = None) -> Any:
            out = self.pad(x) if self.pad is not None else x
            out = keras.ops.relu(self.bn1(self.conv1(out), training=training))
            out = self.bn2(self.conv2(out), training=training)
            shortcut = self.proj_bn(self.proj(x), training=training) if self.project else x
            return keras.ops.relu(out + shortcut)

    class ResNetTF(keras.Model):
        def __init__(self, config: CNNConfig, fused_bn: bool = False, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.stem = conv3x3(config.width, 1)
            self.stem_bn = bn(config, fused_bn)
            self.blocks = [BlockTF(i, o, s, config, fused_bn, name=f"block{k}")
                           for k, (i, o, s) in enumerate(block_specs(config))]
            self.fc = layers.Dense(config.num_classes)

        def call(self, inputs: dict[str, Any], training: Any = None) -> Any:
            x = keras.ops.relu(self.stem_bn(self.stem(inputs[IMAGES]), training=training))
            for block in self.blocks:
                x = block(x, training=training)
            return self.fc(keras.ops.mean(x, axis=(1, 2)))

    return ResNetTF


def _copy_conv(conv: Any, layer: Any) -> None:
    assign(layer.kernel, tensor_np(conv.weight).transpose(2, 3, 1, 0))  # OIHW -> HWIO


def _copy_bn(bn: Any, layer: Any) -> None:
    assign(layer.gamma, tensor_np(bn.weight))
    assign(layer.beta, tensor_np(bn.bias))
    assign(layer.moving_mean, tensor_np(bn.running_mean))
    assign(layer.moving_variance, tensor_np(bn.running_var))


class CNNFamily(ImageFamily[CNNConfig]):
    name = "cnn"

    def config(self, size: str, seq_len: int = 0) -> CNNConfig:
        self.check_size(size)
        width, blocks = _SIZES[size]
        return CNNConfig(size=size, width=width, blocks_per_stage=blocks)

    def torch_model(self, config: CNNConfig) -> Any:
        return _torch_classes()(config)

    def tf_model(self, config: CNNConfig, variant: str) -> Any:
        return _tf_classes()(config, fused_bn=variant == "fused_bn", name="resnet")

    def copy_torch_to_tf(self, torch_model: Any, tf_model: Any) -> None:
        _copy_conv(torch_model.stem, tf_model.stem)
        _copy_bn(torch_model.stem_bn, tf_model.stem_bn)
        if len(torch_model.blocks) != len(tf_model.blocks):
            raise ValueError(f"block count differs: torch {len(torch_model.blocks)} vs keras {len(tf_model.blocks)}")
        for tb, kb in zip(torch_model.blocks, tf_model.blocks):
            _copy_conv(tb.conv1, kb.conv1)
            _copy_bn(tb.bn1, kb.bn1)
            _copy_conv(tb.conv2, kb.conv2)
            _copy_bn(tb.bn2, kb.bn2)
            if tb.project:
                _copy_conv(tb.proj, kb.proj)
                _copy_bn(tb.proj_bn, kb.proj_bn)
        assign(tf_model.fc.kernel, tensor_np(torch_model.fc.weight).T)
        assign(tf_model.fc.bias, tensor_np(torch_model.fc.bias))

    def flops_per_sample(self, config: CNNConfig, seq_len: int = 0) -> float:
        side = config.image_size
        flops = 2.0 * side * side * 9 * config.channels * config.width  # stem
        for cin, cout, stride in block_specs(config):
            side_out = side // stride
            pixels = side_out * side_out
            flops += 2.0 * pixels * 9 * cin * cout + 2.0 * pixels * 9 * cout * cout
            if stride != 1 or cin != cout:
                flops += 2.0 * pixels * cin * cout
            side = side_out
        return flops + 2.0 * config.stage_widths[-1] * config.num_classes


FAMILY = CNNFamily()
