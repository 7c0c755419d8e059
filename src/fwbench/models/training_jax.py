"""JAX steps shared by the parity tests and the harness: the counterpart of training.py for Flax NNX models.

Same optimizer and loss as torch and TensorFlow: optax SGD with training.LEARNING_RATE and
MOMENTUM (optax's trace is t = g + m * t, then p -= lr * t: torch's SGD update, dampening 0, no
Nesterov) and the mean sparse softmax cross-entropy over every label position.

The step (JaxStep) uses NNX's functional split/merge pattern: the model is split once into a
static graph definition and array state; the step is a pure function of (graph definition, params,
other state, optimizer state, batch) that merges them, runs the model and returns the new state.
With jit=True it is jax.jit-compiled (graph definition static, state buffers donated so the update
happens in place), so NNX's Python graph traversal runs only while tracing; with jit=False it runs
op by op (JAX's eager mode).
Importing this module imports no framework; jax, flax and optax are imported inside functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from fwbench import constants as C
from fwbench.models.base import LABELS, model_inputs
from fwbench.models.training import LEARNING_RATE, MOMENTUM

if TYPE_CHECKING:
    import jax
    import optax


def jax_optimizer() -> optax.GradientTransformation:
    """optax.sgd(LEARNING_RATE, momentum=MOMENTUM): torch_optimizer's update over a model's nnx.Param state."""
    import optax

    return optax.sgd(LEARNING_RATE, momentum=MOMENTUM)


def jax_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean sparse softmax cross-entropy over every label position (torch_loss's definition)."""
    import optax

    flat = logits.reshape(-1, logits.shape[-1])
    return optax.softmax_cross_entropy_with_integer_labels(flat, labels.reshape(-1)).mean()


def jax_device(device: str) -> jax.Device:
    """The jax.Device of "cpu" or "cuda" (the first GPU; jax's RuntimeError propagates when there is none)."""
    import jax

    if device not in C.DEVICES:
        raise ValueError(f"unknown device {device!r}; allowed: {', '.join(C.DEVICES)}")
    return jax.devices("cpu")[0] if device == "cpu" else jax.devices("gpu")[0]


def to_jax(batch_np: dict[str, np.ndarray], device: str) -> dict[str, jax.Array]:
    """Arrays placed on `device` ("cpu" or "cuda") with jax.device_put. int64 ids become int32 here,
    explicitly: JAX's default 32-bit mode would truncate them anyway (every id and label fits)."""
    import jax

    target = jax_device(device)
    return {key: jax.device_put(value.astype(np.int32) if value.dtype == np.int64 else value, target)
            for key, value in batch_np.items()}


def _place(state: Any, device: str | None) -> Any:
    """Fresh, committed buffers for every array of an nnx.State, on `device` or where each array is.

    Fresh: the train step donates its own buffers, never the model's. Committed: the arrays a jitted
    step returns are committed to their device, so committed inputs keep the first and later calls
    on one compiled program (uncommitted ones, as a model's freshly initialised arrays are, make the
    second call compile again)."""
    import jax

    target = None if device is None else jax_device(device)
    return jax.tree.map(lambda x: jax.device_put(x, target or next(iter(x.devices())), may_alias=False), state)


def _train_step(graphdef: Any, params: Any, rest: Any, opt_state: Any,
                batch: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """The pure train step: merge, forward in train mode, loss, gradients w.r.t. the nnx.Param
    state, SGD update; returns (params, rest, opt_state, loss), `rest` holding the updated BatchNorm
    statistics and RNG counts."""
    import jax
    import optax
    from flax import nnx

    def loss_fn(params: Any, rest: Any) -> tuple[Any, Any]:
        model = nnx.merge(graphdef, params, rest, copy=True)  # fresh Variables at this trace level
        loss = jax_loss(model(**model_inputs(batch)), batch[LABELS])
        return loss, nnx.split(model, nnx.Param, ...)[2]

    (loss, rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, rest)
    updates, opt_state = jax_optimizer().update(grads, opt_state, params)
    return optax.apply_updates(params, updates), rest, opt_state, loss


def _infer_step(graphdef: Any, params: Any, rest: Any, batch: dict[str, Any]) -> Any:
    """The pure infer step: merge and forward (the graph definition fixes eval mode)."""
    from flax import nnx

    return nnx.merge(graphdef, params, rest)(**model_inputs(batch))


@functools.cache
def _jitted(phase: str) -> Callable[..., Any]:
    """One jax.jit per phase for the process, the graph definition static: steps of equal models (same
    family, config and mode) share compiled programs. The train step's state buffers are donated."""
    import jax

    if phase == "train":
        return jax.jit(_train_step, static_argnums=0, donate_argnums=(1, 2, 3))
    return jax.jit(_infer_step, static_argnums=0)


class JaxStep:
    """step(batch) -> the loss (phase "train") or logits ("infer") as a jax.Array, not blocked on
    (the caller calls jax.block_until_ready). The step owns a copy of the model's state, on `device`
    ("cpu" or "cuda", where to_jax puts the batch; None: where the model's arrays are), and keeps the
    latest; `sync_model()` writes it back into the model (the stepped weights, BatchNorm statistics
    and RNG counts), e.g. for the parity tests to read."""

    def __init__(self, model: Any, phase: str, jit: bool, device: str | None = None) -> None:
        from flax import nnx

        if phase not in C.PHASES:
            raise ValueError(f"unknown phase {phase!r}; allowed: {', '.join(C.PHASES)}")
        self.model, self.phase, self.jit, self.device = model, phase, jit, device
        train = phase == "train"
        # A view in the phase's mode (train: batch statistics, dropout on; infer: running averages, no
        # dropout), sharing the model's variables; the mode is part of the static graph definition.
        view = nnx.view(model, deterministic=not train, use_running_average=not train, raise_if_not_found=False)
        self._graphdef, params, rest = nnx.split(view, nnx.Param, ...)
        self._params, self._rest = _place(params, device), _place(rest, device)
        self._opt_state = jax_optimizer().init(self._params) if train else None
        self._fn = _jitted(phase) if jit else _train_step if train else _infer_step

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        if self.phase == "infer":
            return self._fn(self._graphdef, self._params, self._rest, batch)
        self._params, self._rest, self._opt_state, loss = self._fn(
            self._graphdef, self._params, self._rest, self._opt_state, batch)
        return loss

    def sync_model(self) -> None:
        """Write the step's latest state into the model (copies: the next jitted step donates its own buffers)."""
        from flax import nnx

        nnx.update(self.model, _place(self._params, None), _place(self._rest, None))


def make_jax_step(model: Any, phase: str, jit: bool, device: str | None = None) -> JaxStep:
    """The train or infer step of a Flax NNX model (see JaxStep), jitted or op by op."""
    return JaxStep(model, phase, jit, device)


def count_params_jax(model: Any) -> int:
    """Trainable parameters: the nnx.Param leaves (BatchNorm statistics and RNG state are not Params)."""
    import jax
    from flax import nnx

    return int(sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))))
