"""VGG-style plain CNN for 32x32x3 images, 10 classes: convolutions, ReLU and max-pooling, no BatchNorm.

The counterpart of cnn (a ResNet with BatchNorm): a claim about "CNNs" is judged on both, so a
gap that comes from one framework's BatchNorm kernels shows up as a difference between them.
Three stages of two 3x3 convs (stride 1, padding 1 / Keras 'same', which is symmetric at stride
1; with bias) + ReLU, each stage followed by a 2x2 max-pool of stride 2; widths w, 2w, 4w. Then
flatten (4 x 4 x 4w features), Dense(hidden) + ReLU, Dense(10).

Flatten order: Keras flattens NHWC activations (h, w, c order). The torch model permutes its
NCHW activations to NHWC before flattening, so the first dense kernel copies by a plain
transpose and the function is the same; the permute is a copy of 16 * 4w floats per sample
(free for a channels_last model, where the permuted view is already contiguous).
Images are NHWC in a batch, as for cnn (same batch maker: base.image_batch).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any


from fwbench.models.base import IMAGES, ImageFamily, assign, keras_module, tensor_np


@dataclass(frozen=True)
class CNNPlainConfig:
    size: str
    width: int  # channels of the first stage; stages use width, 2*width, 4*width
    hidden: int  # units of the hidden dense layer
    num_classes: int = 10
    image_size: int = 32
    channels: int = 3
    convs_per_stage: int = 2

    @property
    def stage_widths(self) -> tuple[int, ...]:
        return (self.width, 2 * self.width, 4 * self.width)

    @property
    def flat_features(self) -> int:
        """Features after the last pool: each of the three pools halves the side."""
        side = self.image_size // 2 ** len(self.stage_widths)
        return side * side * self.stage_widths[-1]


_SIZES: dict[str, tuple[int, int]] = {  # width, hidden
    "tiny": (8, 32),  # ~35k params, for tests
    "small": (32, 384),  # ~1.08M
    "medium": (64, 512),  # ~3.3M
}


def conv_specs(config: CNNPlainConfig) -> list[tuple[int, int, int]]:
    """(in_channels, out_channels, input side) of every conv, in order."""
    specs = []
    cin, side = config.channels, config.image_size
    for cout in config.stage_widths:
        for _ in range(config.convs_per_stage):
            specs.append((cin, cout, side))
            cin = cout
        side //= 2
    return specs


@functools.cache
def _torch_classes() -> Any:
    import torch
    from torch import nn

    class PlainCNNTorch(nn.Module):
        def __init__(self, config: CNNPlainConfig) -> None:
            super().__init__()
            self.convs_per_stage = config.convs_per_stage
            self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1) for i, o, _ in conv_specs(config))
            self.fc1 = nn.Linear(config.flat_features, config.hidden)
            self.fc2 = nn.Linear(config.hidden, config.num_classes)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = images
            for index, conv in enumerate(self.convs):
                x = torch.relu(conv(x))
                if (index + 1) % self.convs_per_stage == 0:
                    x = torch.nn.functional.max_pool2d(x, 2, 2)
            x = torch.flatten(x.permute(0, 2, 3, 1), 1)  # NHWC order, as Keras's Flatten
            return self.fc2(torch.relu(self.fc1(x)))

    return PlainCNNTorch


@functools.cache
def _tf_classes() -> Any:
    keras = keras_module()
    layers = keras.layers

    class PlainCNNTF(keras.Model):
        def __init__(self, config: CNNPlainConfig, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.convs_per_stage = config.convs_per_stage
            self.convs = [layers.Conv2D(o, 3, padding="same", name=f"conv{k}")
                          for k, (_, o, _) in enumerate(conv_specs(config))]
            self.pool = layers.MaxPooling2D(2, strides=2)
            self.flatten = layers.Flatten()
            self.fc1 = layers.Dense(config.hidden)
            self.fc2 = layers.Dense(config.num_classes)

        def call(self, inputs: dict[str, Any], training: Any = None) -> Any:
            x = inputs[IMAGES]
            for index, conv in enumerate(self.convs):
                x = keras.ops.relu(conv(x))
                if (index + 1) % self.convs_per_stage == 0:
                    x = self.pool(x)
            return self.fc2(keras.ops.relu(self.fc1(self.flatten(x))))

    return PlainCNNTF


class CNNPlainFamily(ImageFamily[CNNPlainConfig]):
    name = "cnn_plain"

    def config(self, size: str, seq_len: int = 0) -> CNNPlainConfig:
        self.check_size(size)
        width, hidden = _SIZES[size]
        return CNNPlainConfig(size=size, width=width, hidden=hidden)

    def torch_model(self, config: CNNPlainConfig) -> Any:
        return _torch_classes()(config)

    def tf_model(self, config: CNNPlainConfig, variant: str) -> Any:
        return _tf_classes()(config, name="cnn_plain")

    def copy_torch_to_tf(self, torch_model: Any, tf_model: Any) -> None:
        if len(torch_model.convs) != len(tf_model.convs):
            raise ValueError(f"conv count differs: torch {len(torch_model.convs)} vs keras {len(tf_model.convs)}")
        for conv, layer in zip(torch_model.convs, tf_model.convs):
            assign(layer.kernel, tensor_np(conv.weight).transpose(2, 3, 1, 0))  # OIHW -> HWIO
            assign(layer.bias, tensor_np(conv.bias))
        for name in ("fc1", "fc2"):  # fc1's input is NHWC-flattened on both sides: a plain transpose
            assign(getattr(tf_model, name).kernel, tensor_np(getattr(torch_model, name).weight).T)
            assign(getattr(tf_model, name).bias, tensor_np(getattr(torch_model, name).bias))

    def flops_per_sample(self, config: CNNPlainConfig, seq_len: int = 0) -> float:
        flops = sum(2.0 * side * side * 9 * cin * cout for cin, cout, side in conv_specs(config))
        return flops + 2.0 * config.flat_features * config.hidden + 2.0 * config.hidden * config.num_classes


FAMILY = CNNPlainFamily()
