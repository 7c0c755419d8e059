"""PyTorch <-> JAX (Flax NNX) parity of every model family, with test_models_parity's tolerances.

For each family and size: equal trainable parameter counts and, weights copied torch -> Flax
(family.copy_torch_to_jax), the same eval logits, max |diff| <= OUT_RTOL * max(1, max|logits|),
through the jitted infer step. One SGD step from the same weights and batch (the jitted train
step of training_jax) gives the same loss, |diff| <= LOSS_RTOL * max(1, |loss|), and the same
updated parameters and BatchNorm running statistics, max |diff| <= WEIGHT_ATOL (every tensor,
compared with the stepped torch model copied into a clone of the Flax model): on the tiny sizes
only, to keep the file fast (the larger sizes are checked for counts and outputs; their steps
agreed to <= 1.2e-7 in the weights when measured). The tiny sizes are also checked op by op
(jit=False). BERT's parity uses its dropout-0 config; a separate test shows its dropout acts only
in training. The checks live in tests/helpers/parity_jax.py.
"""

from __future__ import annotations


import numpy as np
import pytest
from helpers.parity import BATCH, SEQ_LEN, WEIGHT_ATOL, assert_outputs_close, max_abs_diff
from helpers.parity_jax import check_jax_eval_outputs, check_jax_training_step, make_jax_pair, weights_np

from fwbench import constants as C
from fwbench.models import get_family
from fwbench.models import training as T
from fwbench.models import training_jax as J

CASES = [(model, size) for model in C.MODELS for size in C.SIZES[model]]
TINY = [(model, C.SIZES[model][0]) for model in C.MODELS]


@pytest.mark.parametrize(("model", "size"), CASES)
def test_eval_outputs_match_after_copy(model: str, size: str) -> None:
    check_jax_eval_outputs(make_jax_pair(model, size))


@pytest.mark.parametrize(("model", "size"), TINY)
def test_one_training_step_matches(model: str, size: str) -> None:
    check_jax_training_step(make_jax_pair(model, size), jit=True)


@pytest.mark.parametrize(("model", "size"), TINY)
def test_eager_steps_match(model: str, size: str) -> None:
    """The op-by-op (jit=False) infer and train steps, the harness's JAX eager mode."""
    pair = make_jax_pair(model, size)
    check_jax_eval_outputs(pair, jit=False)
    check_jax_training_step(pair, jit=False)


def test_cnn_batchnorm_statistics_follow_torch() -> None:
    """After a step every running mean and variance moved and equals torch's (whose running
    variance takes the unbiased batch variance, as flax_models.cnn.TorchBatchNorm's does)."""
    pair = make_jax_pair("cnn", "tiny")
    before = weights_np(pair.jax_model)
    check_jax_training_step(pair)
    after = weights_np(pair.jax_model)
    stats = [path for path in after if path.endswith((".mean", ".var"))]
    torch_bns = [m for m in pair.torch_model.modules() if type(m).__name__ == "BatchNorm2d"]
    assert len(stats) == 2 * len(torch_bns)
    assert all(not np.array_equal(before[path], after[path]) for path in stats)
    torch_var = pair.torch_model.stem_bn.running_var.detach().numpy()
    assert max_abs_diff(after["stem_bn.var"], torch_var) <= WEIGHT_ATOL


def test_training_step_moves_weights() -> None:
    """Guards the weight comparison against a step that updates nothing."""
    for model in C.IMAGE_MODELS:
        pair = make_jax_pair(model, "tiny")
        before = weights_np(pair.jax_model)
        step = J.make_jax_step(pair.jax_model, "train", jit=True)
        step(pair.jax_batch())
        step.sync_model()
        after = weights_np(pair.jax_model)
        moved = [float(np.abs(after[path] - value).max()) for path, value in before.items()]
        assert min(moved) > 0.0, model


def test_bert_dropout_only_acts_in_training() -> None:
    """With dropout 0.1 the eval logits equal torch's (no dropout in eval), the train step's loss
    differs from the eval logits' loss (dropout in training), and the step advances the dropout
    RNG stream (a new mask every step). Op by op (jit=False): the tiny BERT's eager ops are
    compiled already by test_eager_steps_match."""
    import jax
    from flax import nnx

    family = get_family("bert")
    config = family.config("tiny", SEQ_LEN)
    assert config.dropout == 0.1
    torch_model, jax_model = family.build_torch(config, seed=0), family.build_jax(config, seed=0)
    family.copy_torch_to_jax(torch_model, jax_model)
    batch_np = family.make_batch(config, BATCH, SEQ_LEN, seed=3)
    batch = J.to_jax(batch_np, "cpu")
    out_jax = J.make_jax_step(jax_model, "infer", jit=False)(batch)
    assert_outputs_close(T.torch_infer_step(torch_model, T.to_torch(batch_np, "cpu")).numpy(), np.asarray(out_jax))

    def rng_count() -> int:
        return sum(int(leaf) for leaf in jax.tree.leaves(nnx.state(jax_model, nnx.RngCount)))

    before = rng_count()
    step = J.make_jax_step(jax_model, "train", jit=False)
    loss_train = float(step(batch))
    step.sync_model()
    assert not np.isclose(loss_train, float(J.jax_loss(out_jax, batch["labels"])), rtol=1e-3)
    assert rng_count() > before


def test_copy_names_the_mismatching_parameter() -> None:
    """A shape mismatch names the parameter; a structural one names the missing paths."""
    import torch

    pair = make_jax_pair("cnn_plain", "tiny")
    pair.torch_model.fc2 = torch.nn.Linear(pair.config.hidden, pair.config.num_classes + 1)
    with pytest.raises(ValueError, match=r"shape mismatch for fc2\."):
        pair.family.copy_torch_to_jax(pair.torch_model, pair.jax_model)
    pair = make_jax_pair("cnn", "tiny")
    pair.torch_model.blocks = pair.torch_model.blocks[:-1]
    with pytest.raises(ValueError, match=r"missing \['blocks\.2\."):
        pair.family.copy_torch_to_jax(pair.torch_model, pair.jax_model)
