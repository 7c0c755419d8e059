"""The model-zoo contract the harness relies on: registry, sizes, batches, FLOPs, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fwbench import constants as C
from fwbench.models import get_family

SEQ = {"cnn": 0, "cnn_plain": 0, "lstm": 16, "bert": 16}


def test_registry_covers_every_model() -> None:
    for model in C.MODELS:
        assert get_family(model).name == model
        assert get_family(model).sizes == C.SIZES[model]


def test_unknown_model_names_allowed_values() -> None:
    with pytest.raises(ValueError, match="allowed: " + ", ".join(C.MODELS)):
        get_family("gpt")


@pytest.mark.parametrize("model", C.MODELS)
def test_unknown_size_names_allowed_sizes(model: str) -> None:
    with pytest.raises(ValueError, match=", ".join(C.SIZES[model])):
        get_family(model).config("huge", SEQ[model])


@pytest.mark.parametrize("model", C.MODELS)
def test_make_batch_is_deterministic_in_the_seed(model: str) -> None:
    family = get_family(model)
    config = family.config(family.sizes[0], SEQ[model])
    first = family.make_batch(config, 4, SEQ[model], seed=7)
    again = family.make_batch(config, 4, SEQ[model], seed=7)
    other = family.make_batch(config, 4, SEQ[model], seed=8)
    assert "labels" in first and first.keys() == again.keys() == other.keys()
    for key in first:
        assert first[key].tobytes() == again[key].tobytes()
        assert first[key].shape[0] == 4
    assert any(first[key].tobytes() != other[key].tobytes() for key in first)
    for value in first.values():
        assert value.dtype in (np.float32, np.int64)


def test_batch_shapes_and_ranges() -> None:
    cnn = get_family("cnn")
    batch = cnn.make_batch(cnn.config("tiny", 0), 3, 0, seed=0)
    assert batch["images"].shape == (3, 32, 32, 3) and batch["images"].dtype == np.float32
    plain = get_family("cnn_plain")
    plain_batch = plain.make_batch(plain.config("tiny", 0), 3, 0, seed=0)
    for key in ("images", "labels"):  # one batch maker for every image family
        assert plain_batch[key].tobytes() == batch[key].tobytes()
    assert batch["labels"].shape == (3,) and batch["labels"].max() < 10
    lstm = get_family("lstm")
    config = lstm.config("tiny", 16)
    batch = lstm.make_batch(config, 3, 16, seed=0)
    assert batch["tokens"].shape == batch["labels"].shape == (3, 16)
    assert np.array_equal(batch["tokens"][:, 1:], batch["labels"][:, :-1])  # next-token targets
    assert batch["tokens"].max() < config.vocab_size
    bert = get_family("bert")
    config = bert.config("tiny", 16)
    batch = bert.make_batch(config, 5, 16, seed=0)
    mask = batch["attention_mask"].astype(bool)
    assert (batch["input_ids"][:, 0] == 1).all() and mask[:, 0].all()
    assert (batch["input_ids"][~mask] == 0).all() and (batch["token_type_ids"][~mask] == 0).all()
    assert batch["labels"].shape == (5,)


def test_bert_rejects_sequences_longer_than_positions() -> None:
    with pytest.raises(ValueError, match="max_position"):
        get_family("bert").config("tiny", 513)


@pytest.mark.parametrize("bad", [0, -1])
def test_non_positive_batch_size_rejected(bad: int) -> None:
    family = get_family("lstm")
    with pytest.raises(ValueError, match="batch_size"):
        family.make_batch(family.config("tiny", 8), bad, 8, seed=0)


@pytest.mark.parametrize("model", C.MODELS)
def test_flops_grow_with_size(model: str) -> None:
    family = get_family(model)
    flops = [family.flops_per_sample(family.config(size, SEQ[model]), SEQ[model]) for size in family.sizes]
    assert all(f > 0 for f in flops)
    assert flops == sorted(flops) and len(set(flops)) == len(flops)


def test_flops_match_hand_counts() -> None:
    lstm = get_family("lstm")
    c = lstm.config("tiny", 10)  # vocab 256, embed 32, hidden 64
    per_token = 2 * 4 * 64 * (32 + 64) + 2 * 4 * 64 * (64 + 64) + 2 * 64 * 256
    assert lstm.flops_per_sample(c, 10) == per_token * 10
    bert = get_family("bert")
    c = bert.config("tiny", 8)  # 2 layers, hidden 128, ffn 512, 2 labels
    layer = 2 * 8 * 128 * 128 * 4 + 2 * 2 * 8 * 8 * 128 + 2 * 2 * 8 * 128 * 512
    assert bert.flops_per_sample(c, 8) == 2 * layer + 2 * 128 * 128 + 2 * 128 * 2
    plain = get_family("cnn_plain")
    c = plain.config("tiny", 0)  # widths 8, 16, 32 at sides 32, 16, 8; flatten 4*4*32 = 512; hidden 32
    convs = (2 * 32 * 32 * 9 * (3 * 8 + 8 * 8) + 2 * 16 * 16 * 9 * (8 * 16 + 16 * 16)
             + 2 * 8 * 8 * 9 * (16 * 32 + 32 * 32))
    assert plain.flops_per_sample(c, 0) == convs + 2 * 512 * 32 + 2 * 32 * 10


def test_cnn_plain_parameter_counts() -> None:
    """Hand count of the tiny net (conv weights + biases, dense weights + biases) and the sizes' scale."""
    from fwbench.models import training as T

    plain = get_family("cnn_plain")
    convs = sum(9 * i * o + o for i, o in [(3, 8), (8, 8), (8, 16), (16, 16), (16, 32), (32, 32)])
    counts = {size: T.count_params_torch(plain.build_torch(plain.config(size, 0), 0)) for size in plain.sizes}
    assert counts["tiny"] == convs + 512 * 32 + 32 + 32 * 10 + 10
    assert 1.0e6 < counts["small"] < 1.2e6
    assert counts["tiny"] < counts["small"] < counts["medium"]


def test_importing_models_imports_no_framework() -> None:
    code = (
        "import sys, fwbench.models as m\n"
        f"for name in {C.MODELS!r}:\n"
        "    f = m.get_family(name); c = f.config(f.sizes[0], 8); f.make_batch(c, 2, 8, 0); f.flops_per_sample(c, 8)\n"
        "import fwbench.models.training, fwbench.models.training_jax, fwbench.models.training_keras\n"
        "print(sorted(k for k in ('torch', 'tensorflow', 'keras', 'jax', 'flax', 'optax') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
