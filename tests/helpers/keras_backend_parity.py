"""PyTorch <-> Keras parity on one Keras backend, through Keras's own loop (fwbench.models.training_keras).

Keras fixes its backend from KERAS_BACKEND at the first import, and a pytest process already has keras
on TensorFlow, so tests/test_models_keras_backends.py runs this script in a fresh process per backend:
    KERAS_BACKEND=jax python tests/helpers/keras_backend_parity.py [--slow | MODEL:SIZE:MODE ...]
(no argument: the backend's fast cases; --slow: its slow cases). It prints one JSON line: the backend
requested, the one keras reports, and per case the worst differences and the failed checks.

A case is helpers.parity's pair (torch seed 0, keras seed 1 overwritten by copy_torch_to_tf, BERT without
dropout; batch seed BATCH_SEED) with the keras model compiled by keras_compile(mode), checked with
helpers.parity's tolerances: eval logits (predict_on_batch) against torch's; one train_on_batch step
against training.torch_train_step: the loss, every trainable weight and every BatchNorm moving statistic
(torch's running variance put in Keras's convention first, keras_running_variance).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run by path: import `helpers` as pytest does (tests/ on sys.path)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.parity import WEIGHT_ATOL, assert_loss_close, assert_outputs_close, make_pair, max_abs_diff  # noqa: E402

from fwbench import constants as C  # noqa: E402
from fwbench.models import training as T  # noqa: E402
from fwbench.models import training_keras as K  # noqa: E402

MODES = ("eager", "jit")  # the modes training_keras.keras_compile accepts
# Not helpers.parity's 2: with batch seed 2 one pre-activation of the tiny cnn lies 4.6e-7 from the ReLU
# kink, and the ~1e-6 rounding differences between XLA and op-by-op execution put it on either side
# (TF-XLA and JAX-eager then miss torch's updated block0 conv kernel by 1.55e-5 > WEIGHT_ATOL). With
# seed 9 the tiny cnn's smallest |ReLU input| is 3.1e-5 (the largest of seeds 1-10), the tiny
# cnn_plain's 8.4e-6; at the default sizes a flip is harmless (a gradient spread over more elements).
BATCH_SEED = 9
Case = tuple[str, str, str]  # model, size, mode


def all_cases() -> list[Case]:
    """Every family at tiny and at its default size, in both modes."""
    return [(model, size, mode) for model in C.MODELS for size in ("tiny", C.DEFAULT_SIZE[model]) for mode in MODES]


def is_slow(backend: str, case: Case) -> bool:
    """Cases left to the slow test, as measured on the shared 2-core machine: torch.compile of Keras's
    step (20-130 s a model; cnn_plain tiny, the cheapest, stays fast) and JAX op-by-op eager steps at
    the default sizes (about 10 s a model); tiny covers JAX eager in the fast test."""
    model, size, mode = case
    if backend == "torch":
        return mode == "jit" and (model, size) != ("cnn_plain", "tiny")
    return backend == "jax" and mode == "eager" and size != "tiny"


def cases(backend: str, slow: bool = False) -> list[Case]:
    """The fast (or, with `slow`, the slow) cases of `backend`; together they are all_cases()."""
    return [case for case in all_cases() if is_slow(backend, case) == slow]


@contextmanager
def keras_running_variance(torch_model: Any) -> Iterator[None]:
    """Around one torch training step: afterwards every BatchNorm running_var holds the value Keras's
    update gives, so the moving statistics compare with the weights' tolerance.

    torch updates running_var with the unbiased batch variance, Keras with the biased one (cnn's
    docstring). With n values per channel and momentum m (torch convention) torch's new value is
    r1 = (1 - m) r0 + m v n / (n - 1) and Keras's r1 - (r1 - (1 - m) r0) / n; n is read from each
    BatchNorm's input during the step."""
    import torch

    norms = [m for m in torch_model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    before = {norm: norm.running_var.detach().clone() for norm in norms}
    counts: dict[Any, int] = {}

    def count(norm: Any, args: tuple[Any, ...]) -> None:
        counts[norm] = args[0].numel() // args[0].shape[1]

    hooks = [norm.register_forward_pre_hook(count) for norm in norms]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()
    with torch.no_grad():
        for norm, n in counts.items():
            norm.running_var.sub_((norm.running_var - (1.0 - norm.momentum) * before[norm]) / n)


def moving_statistics(model: Any) -> list[Any]:
    """The keras model's BatchNorm moving means and variances (Keras's variable names), in model order."""
    return [v for v in model.non_trainable_variables if v.path.rsplit("/", 1)[-1] in ("moving_mean", "moving_variance")]


def worst(expected: list[Any], actual: list[Any]) -> tuple[float, str]:
    """(max |diff|, variable path) over two equally ordered variable lists; (0.0, "") when empty."""
    if len(expected) != len(actual):
        raise ValueError(f"{len(expected)} expected variables vs {len(actual)} actual")
    return max(((max_abs_diff(want, got), got.path) for want, got in zip(expected, actual)), default=(0.0, ""))


def failure(check: Callable[..., Any], *args: Any) -> str | None:
    """The assertion message of a helpers.parity check, None when it passes."""
    try:
        check(*args)
    except AssertionError as error:
        return str(error) or f"{check.__name__} failed"
    return None


def check_case(model: str, size: str, mode: str) -> dict[str, Any]:
    """One case's worst differences and failed checks (`failures` empty when it passes)."""
    import torch

    start = time.perf_counter()
    pair = make_pair(model, size, batch_seed=BATCH_SEED)
    keras_model = pair.tf_model
    K.keras_compile(keras_model, mode)
    inputs, labels = K.keras_batch(pair.batch)
    failures = [] if T.count_params_torch(pair.torch_model) == T.count_params_tf(keras_model) else [
        "trainable parameter counts differ"]

    out_torch = T.torch_infer_step(pair.torch_model, pair.torch_batch()).numpy()
    out_keras = K.keras_infer_step(keras_model, inputs)
    failures.append(failure(assert_outputs_close, out_torch, out_keras))

    with keras_running_variance(pair.torch_model):
        loss_torch = T.torch_train_step(pair.torch_model, T.torch_optimizer(pair.torch_model),
                                        pair.torch_batch()).item()
    loss_keras = K.keras_train_step(keras_model, inputs, labels)
    failures.append(failure(assert_loss_close, loss_torch, loss_keras))

    # torch's stepped weights in keras layout, in a fresh model (as helpers.parity.check_training_step):
    # a copy that assigned nothing would leave its own initial values there, not the keras step's
    stepped = pair.family.build_tf(pair.config, 3, pair.tf_variant)
    pair.family.copy_torch_to_tf(pair.torch_model, stepped)
    weight_diff, weight_path = worst(stepped.trainable_variables, keras_model.trainable_variables)
    stats_diff, stats_path = worst(moving_statistics(stepped), moving_statistics(keras_model))
    norms = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in pair.torch_model.modules())
    if len(moving_statistics(keras_model)) != 2 * norms:  # the statistics check must not be vacuous
        failures.append(f"{len(moving_statistics(keras_model))} keras moving statistics for {norms} torch BatchNorms")
    for what, diff, path in (("weight", weight_diff, weight_path), ("moving statistic", stats_diff, stats_path)):
        if not diff <= WEIGHT_ATOL:
            failures.append(f"{what} {path}: max |diff| {diff:.3g} > {WEIGHT_ATOL}")
    return {"model": model, "size": size, "mode": mode, "eval_diff": max_abs_diff(out_torch, out_keras),
            "loss_torch": loss_torch, "loss_keras": loss_keras, "loss_diff": abs(loss_torch - loss_keras),
            "weight_diff": weight_diff, "weight_worst": weight_path, "stats_diff": stats_diff,
            "stats_count": len(moving_statistics(keras_model)), "failures": [f for f in failures if f],
            "seconds": round(time.perf_counter() - start, 2)}


def run(case_list: list[Case]) -> dict[str, Any]:
    """Every case (an exception fails its case, not the run), with the backend keras really runs on."""
    keras = K.keras_module()
    start = time.perf_counter()
    results = []
    for model, size, mode in case_list:
        try:
            results.append(check_case(model, size, mode))
        except Exception as error:  # noqa: BLE001 - reported as the case's failure, with its type
            results.append({"model": model, "size": size, "mode": mode,
                            "failures": [f"{type(error).__name__}: {error}"[:2000]]})
        keras.backend.clear_session()  # also resets torch._dynamo: every case compiles afresh
    return {"requested": os.environ.get("KERAS_BACKEND"), "backend": keras.backend.backend(),
            "keras": keras.__version__, "cases": results, "seconds": round(time.perf_counter() - start, 1)}


def parse_case(text: str) -> Case:
    model, size, mode = text.split(":")
    K.check_mode(mode)
    return model, size, mode


def main(argv: list[str]) -> int:
    backend = os.environ.get("KERAS_BACKEND", "")
    if backend not in C.KERAS_BACKENDS:
        raise SystemExit(f"set KERAS_BACKEND to one of {', '.join(C.KERAS_BACKENDS)} (got {backend!r})")
    if argv in ([], ["--slow"]):
        case_list = cases(backend, slow=bool(argv))
    else:
        case_list = [parse_case(arg) for arg in argv]
    print(json.dumps(run(case_list)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
