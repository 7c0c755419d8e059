"""PyTorch <-> TensorFlow parity of every model family: the benchmark compares like with like.

For each family and size: equal trainable parameter counts; weights copied torch -> keras give
the same eval logits, max |diff| <= 1e-4 * max(1, max|logits|); one SGD training step from the
same weights and batch gives the same loss, |diff| <= 1e-5 * max(1, |loss|), and the same
updated trainable weights, max |diff| <= 1e-5 (every tensor, compared by copying the stepped
torch weights into a fresh keras model). BERT's step uses its dropout-0 config. The checks live
in tests/helpers/parity.py, shared with test_models_variants.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.parity import BATCH, OUT_RTOL, SEQ_LEN, check_eval_outputs, check_training_step, make_pair

from fwbench.models import get_family
from fwbench.models import training as T

CASES = [
    ("cnn", "tiny"), ("cnn", "small"), ("cnn", "medium"),
    ("cnn_plain", "tiny"), ("cnn_plain", "small"), ("cnn_plain", "medium"),
    ("lstm", "tiny"), ("lstm", "small"), ("lstm", "medium"),
    ("bert", "tiny"), ("bert", "mini"), ("bert", "small"),
]


@pytest.mark.parametrize(("model", "size"), CASES)
def test_eval_outputs_match_after_copy(model: str, size: str) -> None:
    check_eval_outputs(make_pair(model, size))


@pytest.mark.parametrize(("model", "size"), CASES)
def test_one_training_step_matches(model: str, size: str) -> None:
    check_training_step(make_pair(model, size))


def test_training_step_moves_weights() -> None:
    """Guards the weight comparison above against a step that updates nothing."""
    for model in ("cnn", "cnn_plain"):
        pair = make_pair(model, "tiny")
        tf_model = pair.tf_model
        before = [np.asarray(v).copy() for v in tf_model.trainable_variables]
        T.tf_train_step(tf_model, T.tf_optimizer(tf_model), pair.tf_batch())
        moved = [float(np.abs(np.asarray(v) - b).max()) for v, b in zip(tf_model.trainable_variables, before)]
        assert min(moved) > 0.0, model


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
