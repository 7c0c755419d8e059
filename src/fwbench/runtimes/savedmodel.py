"""`savedmodel`: tf.saved_model.save of a tf.function with a fixed input signature for the batch,
reloaded with tf.saved_model.load and called through its serving signature (TF Serving's path).
`save` is shared with the LiteRT converter, which starts from the same SavedModel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fwbench.runtimes.base import (PROCESS_THREADS, Exported, as_float32, converting, file_size, model_inputs,
                                   tf_inputs, versions)

NAME = "savedmodel"
SIGNATURE = "serving_default"
OUTPUT = "logits"


def serving_function(model: Any, batch_np: dict[str, np.ndarray]) -> Any:
    """A tf.function over one tensor per model input (named as the batch key, shape and dtype fixed
    to the batch) returning {"logits": model(inputs, training=False)}."""
    import tensorflow as tf

    inputs = model_inputs(batch_np)
    keys = list(inputs)
    specs = [tf.TensorSpec(value.shape, tf.as_dtype(value.dtype), name=key) for key, value in inputs.items()]

    @tf.function(input_signature=specs)
    def serve(*tensors: Any) -> dict[str, Any]:
        return {OUTPUT: model(dict(zip(keys, tensors)), training=False)}

    return serve


def save(model: Any, batch_np: dict[str, np.ndarray], path: Path) -> Path:
    """Write the SavedModel (weights tracked through a tf.Module holding the keras model)."""
    import tensorflow as tf

    serve = serving_function(model, batch_np)
    holder = tf.Module()
    holder.model = model
    holder.serve = serve
    tf.saved_model.save(holder, str(path), signatures={SIGNATURE: serve.get_concrete_function()})
    return path


def export(model: Any, batch_np: dict[str, np.ndarray], threads: int, workdir: Path) -> Exported:
    import tensorflow as tf

    with converting(NAME):
        path = save(model, batch_np, workdir / "savedmodel")
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures[SIGNATURE]
        inputs = tf_inputs(batch_np)

        def step() -> Any:
            return signature(**inputs)

        step()
    info = {"runtime": NAME, "versions": versions("tensorflow-cpu", "keras"), "file_bytes": file_size(path),
            "provider": "cpu", "threads": threads, "threads_scope": PROCESS_THREADS}
    # `loaded` must outlive the signature (it owns the variables); the handle keeps it alive.
    return Exported(step=step, outputs=lambda out: as_float32(out[OUTPUT]), info=info, handle=loaded)
