"""Keras's own training loop (model.compile + train_on_batch / predict_on_batch) on any Keras backend.

training.py drives the TensorFlow models by hand (GradientTape, optimizer.apply) for the TF-vs-torch
comparison; this module drives the same Keras models the way Keras users do, so the standard
variant (keras layers and keras.ops only) runs and trains on the tensorflow, jax and torch backends.
The backend is whatever keras was imported with: set KERAS_BACKEND before the first keras import
(base.keras_module only defaults it to tensorflow). Optimizer and loss are training.py's: SGD
(training.tf_optimizer) and the mean sparse softmax cross-entropy over every label position
(SparseCategoricalCrossentropy's default reduction, sum_over_batch_size, divides by the number of
loss elements, B for class labels and B*T for the LSTM's per-token labels, as training.torch_loss does).

Modes, as Keras 3.15's trainers implement them (keras/src/backend/<backend>/trainer.py):
- "eager" (run_eagerly=True, jit_compile=False): tensorflow runs the step without tf.function; jax
  calls the step without jax.jit (op by op dispatch); torch runs plain eager PyTorch.
- "jit" (run_eagerly=False, jit_compile=True): tensorflow wraps the step in tf.function(jit_compile=True)
  (XLA); jax wraps it in jax.jit (XLA); torch wraps it in torch.compile (dynamo + inductor, default
  options). On every backend the first call traces and compiles; later calls reuse the compiled step.
Keras silently turns jit_compile off when a layer does not support XLA or TF op determinism is
enabled; keras_compile refuses that fallback rather than benchmark eager code under the name jit.
torch.compile of Keras's step (measured with torch 2.13, CPU): Tensor.backward() and the SGD update
(a data-dependent scalar) are graph breaks, the update runs eagerly; the second train step recompiles
once (dynamo guards on the gradients being None), so warm up with two steps; and Keras's Layer.forward,
one code object for every layer, is compiled again per residual block and grad mode (guards on the
block's name scope and shapes): for cnn (tiny and small) dynamo reaches its recompile_limit (8) and runs
the frames past it eagerly, with only a logged warning (not seen for cnn_plain, lstm or bert).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fwbench import constants as C
from fwbench.models.base import LABELS, keras_module, model_inputs
from fwbench.models.training import tf_optimizer

def check_mode(mode: str) -> None:
    """ValueError naming the allowed modes (constants.MODES["keras"]) unless `mode` is one of them."""
    if mode not in C.MODES["keras"]:
        raise ValueError(f"unknown keras mode {mode!r}; allowed: {', '.join(C.MODES['keras'])}")


def keras_compile(model: Any, mode: str) -> None:
    """Compile `model` with training.py's SGD and loss for `mode` ("eager" or "jit", see the module docstring).

    RuntimeError if Keras did not honour the mode (its jit_compile setter falls back to False with
    only a warning), so a "jit" measurement never runs uncompiled code."""
    check_mode(mode)
    keras = keras_module()
    jit = mode == "jit"
    model.compile(optimizer=tf_optimizer(), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=not jit, jit_compile=jit)
    if bool(model.jit_compile) != jit or bool(model.run_eagerly) == jit:
        raise RuntimeError(f"keras ({keras.backend.backend()}) did not honour mode {mode!r}: "
                           f"jit_compile={model.jit_compile!r}, run_eagerly={model.run_eagerly!r}")


def keras_batch(batch_np: dict[str, np.ndarray]) -> tuple[dict[str, Any], Any]:
    """(inputs, labels) as backend tensors on the backend's default device, converted once so a timed
    step does not convert numpy again: inputs the model's named inputs, labels the LABELS entry.

    On jax (x64 off) int64 token ids and labels become int32, as jax.numpy does with every int64 array."""
    ops = keras_module().ops
    tensors = {key: ops.convert_to_tensor(value) for key, value in batch_np.items()}
    return model_inputs(tensors), tensors[LABELS]


def keras_train_step(model: Any, inputs: dict[str, Any], labels: Any) -> float:
    """One training step through model.train_on_batch (after keras_compile); returns the batch loss.

    Synchronised: train_on_batch turns its logs into Python floats (keras pythonify_logs) on every
    backend, so the returned loss has waited for the step (no extra sync is needed to time it)."""
    return float(model.train_on_batch(inputs, labels))


def keras_infer_step(model: Any, inputs: dict[str, Any]) -> np.ndarray:
    """Eval-mode logits through model.predict_on_batch (after keras_compile), as a numpy array.

    predict_on_batch is Keras's batch inference call and the one that honours the compiled mode
    (model(inputs, training=False) always runs eagerly); it returns numpy on every backend, so the
    result is synchronised and includes the device-to-host copy of the logits."""
    return np.asarray(model.predict_on_batch(inputs))
