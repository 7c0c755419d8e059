"""PyTorch <-> TensorFlow parity of every model family: the benchmark compares like with like.

For each family and size: equal trainable parameter counts; weights copied torch -> keras give
the same eval logits, max |diff| <= 1e-4 * max(1, max|logits|); one SGD training step from the
same weights and batch gives the same loss, |diff| <= 1e-5 * max(1, |loss|), and the same
updated trainable weights, max |diff| <= 1e-5 (every tensor, compared by copying the stepped
torch weights into a fresh keras model). BERT's step uses its dropout-0 config.
"""

from __future__ import annotations

import numpy as np
import pytest

from fwbench.models import get_family
from fwbench.models import training as T

OUT_RTOL = 1e-4
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-5
SEQ_LEN = 16
BATCH = 4

CASES = [
    ("cnn", "tiny"), ("cnn", "small"), ("cnn", "medium"),
    ("lstm", "tiny"), ("lstm", "small"), ("lstm", "medium"),
    ("bert", "tiny"), ("bert", "mini"), ("bert", "small"),
]


def _setup(model: str, size: str):
    family = get_family(model)
    config = family.config(size, SEQ_LEN)
    if model == "bert":
        config = config.without_dropout()
    torch_model = family.build_torch(config, seed=0)
    tf_model = family.build_tf(config, seed=1)  # a different init, overwritten by the copy
    family.copy_torch_to_tf(torch_model, tf_model)
    batch = family.make_batch(config, BATCH, SEQ_LEN, seed=2)
    return family, config, torch_model, tf_model, batch


@pytest.mark.parametrize(("model", "size"), CASES)
def test_eval_outputs_match_after_copy(model: str, size: str) -> None:
    family, config, torch_model, tf_model, batch = _setup(model, size)
    assert T.count_params_torch(torch_model) == T.count_params_tf(tf_model)
    out_torch = T.torch_infer_step(torch_model, T.to_torch(batch, "cpu")).numpy()
    out_tf = np.asarray(T.tf_infer_step(tf_model, T.to_tf(batch, "cpu")))
    assert out_torch.shape == out_tf.shape
    scale = max(1.0, float(np.abs(out_torch).max()))
    assert float(np.abs(out_torch - out_tf).max()) <= OUT_RTOL * scale


@pytest.mark.parametrize(("model", "size"), CASES)
def test_one_training_step_matches(model: str, size: str) -> None:
    family, config, torch_model, tf_model, batch = _setup(model, size)
    loss_torch = T.torch_train_step(torch_model, T.torch_optimizer(torch_model), T.to_torch(batch, "cpu")).item()
    loss_tf = float(T.tf_train_step(tf_model, T.tf_optimizer(tf_model), T.to_tf(batch, "cpu")))
    assert abs(loss_torch - loss_tf) <= LOSS_RTOL * max(1.0, abs(loss_torch))

    stepped = family.build_tf(config, seed=3)
    family.copy_torch_to_tf(torch_model, stepped)  # torch's updated weights, in keras layout
    expected = stepped.trainable_variables
    actual = tf_model.trainable_variables
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual):
        diff = float(np.abs(np.asarray(want) - np.asarray(got)).max())
        assert diff <= WEIGHT_ATOL, f"{got.path}: max |diff| {diff:.3g}"


def test_training_step_moves_weights() -> None:
    """Guards the weight comparison above against a step that updates nothing."""
    family, config, torch_model, tf_model, batch = _setup("cnn", "tiny")
    before = [np.asarray(v).copy() for v in tf_model.trainable_variables]
    T.tf_train_step(tf_model, T.tf_optimizer(tf_model), T.to_tf(batch, "cpu"))
    moved = [float(np.abs(np.asarray(v) - b).max()) for v, b in zip(tf_model.trainable_variables, before)]
    assert min(moved) > 0.0


def test_bert_dropout_only_acts_in_training() -> None:
    family = get_family("bert")
    config = family.config("tiny", SEQ_LEN)
    assert config.dropout == 0.1
    torch_model = family.build_torch(config, seed=0)
    tf_model = family.build_tf(config, seed=0)
    family.copy_torch_to_tf(torch_model, tf_model)
    batch = family.make_batch(config, BATCH, SEQ_LEN, seed=2)
    out_torch = T.torch_infer_step(torch_model, T.to_torch(batch, "cpu")).numpy()
    out_tf = np.asarray(T.tf_infer_step(tf_model, T.to_tf(batch, "cpu")))
    assert float(np.abs(out_torch - out_tf).max()) <= OUT_RTOL * max(1.0, float(np.abs(out_torch).max()))
    inputs = {k: v for k, v in T.to_tf(batch, "cpu").items() if k != "labels"}
    assert not np.allclose(np.asarray(tf_model(inputs, training=True)), out_tf)
