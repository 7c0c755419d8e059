"""The torch -> Flax weight copy shared by every family: torch tensors to arrays named by NNX path.

A family's copy builds one dict {dotted NNX path: array} with the helpers below (each says how a
torch layer's tensors map onto the Flax layer's variables) and hands it to `load_arrays`, which
checks that it covers exactly the model's parameters and BatchNorm statistics, each with the
right shape, before assigning anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from fwbench.models.base import tensor_np

Arrays = dict[str, np.ndarray]


def weight_variables(model: nnx.Module) -> dict[str, nnx.Variable]:
    """Every nnx.Param and nnx.BatchStat of `model` by dotted path ("blocks.0.conv1.kernel"): the
    state a torch model's parameters and buffers map onto (RNG state is left out)."""
    return {".".join(str(part) for part in path): node for path, node in nnx.iter_graph(model)
            if isinstance(node, (nnx.Param, nnx.BatchStat))}


def load_arrays(model: nnx.Module, arrays: Mapping[str, np.ndarray]) -> None:
    """Overwrite every parameter and BatchNorm statistic of `model` with `arrays` (by dotted path).

    ValueError naming the paths when `arrays` misses one of the model's or has one the model lacks
    (e.g. a different block count), or naming the parameter on a shape mismatch; nothing is
    assigned unless everything matches."""
    targets = weight_variables(model)
    missing, unexpected = sorted(targets.keys() - arrays.keys()), sorted(arrays.keys() - targets.keys())
    if missing or unexpected:
        raise ValueError(f"torch -> jax copy does not match the model: missing {missing}, unexpected {unexpected}")
    values = {path: np.asarray(value, dtype=np.float32) for path, value in arrays.items()}
    for path, variable in targets.items():
        if tuple(variable.shape) != values[path].shape:
            raise ValueError(f"shape mismatch for {path}: jax {tuple(variable.shape)} vs torch {values[path].shape}")
    for path, variable in targets.items():
        variable.set_value(jnp.asarray(values[path]))


def linear(path: str, layer: Any) -> Arrays:
    """torch nn.Linear -> nnx.Linear: kernel is weight transposed (in, out); bias as is."""
    return {f"{path}.kernel": tensor_np(layer.weight).T, f"{path}.bias": tensor_np(layer.bias)}


def conv(path: str, layer: Any) -> Arrays:
    """torch nn.Conv2d -> nnx.Conv: kernel OIHW -> HWIO; bias when the torch conv has one."""
    arrays = {f"{path}.kernel": tensor_np(layer.weight).transpose(2, 3, 1, 0)}
    if layer.bias is not None:
        arrays[f"{path}.bias"] = tensor_np(layer.bias)
    return arrays


def batch_norm(path: str, layer: Any) -> Arrays:
    """torch nn.BatchNorm2d -> nnx.BatchNorm: weight/bias -> scale/bias, running statistics -> mean/var."""
    return {f"{path}.scale": tensor_np(layer.weight), f"{path}.bias": tensor_np(layer.bias),
            f"{path}.mean": tensor_np(layer.running_mean), f"{path}.var": tensor_np(layer.running_var)}


def layer_norm(path: str, layer: Any) -> Arrays:
    """torch nn.LayerNorm -> nnx.LayerNorm: weight/bias -> scale/bias."""
    return {f"{path}.scale": tensor_np(layer.weight), f"{path}.bias": tensor_np(layer.bias)}


def embedding(path: str, layer: Any) -> Arrays:
    """torch nn.Embedding -> nnx.Embed: the (num_embeddings, features) table as is."""
    return {f"{path}.embedding": tensor_np(layer.weight)}
