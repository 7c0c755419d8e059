"""`litert`: the serving function converted by tf.lite.TFLiteConverter at float32 (no optimizations, so no
quantization changes the function) and run by the LiteRT interpreter (ai_edge_litert), the
mobile/edge deployment path. Tensors are allocated once; a step sets the inputs, invokes and
copies the logits out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fwbench.runtimes import savedmodel
from fwbench.runtimes.base import Exported, as_float32, converting, model_inputs, versions

NAME = "litert"


def convert(model: Any, batch_np: dict[str, np.ndarray]) -> bytes:
    """The float32 .tflite flatbuffer of the serving tf.function (builtin ops only: the interpreter
    package ships no Flex/Select-TF-ops delegate).

    From the concrete function, not from the SavedModel directory: from_saved_model keeps the
    weights as resource variables whose initialisation the interpreter never runs (measured with
    TF 2.21 + ai-edge-litert 2.3.0: NaN logits for cnn/bert, READ_VARIABLE failure for lstm), and
    so does from_concrete_functions when given a trackable object or left to lower to a SavedModel;
    the frozen-graph path below turns the weights into constants."""
    import tensorflow as tf

    serve = savedmodel.serving_function(model, batch_np)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()])
    converter.experimental_lower_to_saved_model = False  # True would route back through a SavedModel
    converter.optimizations = []
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return bytes(converter.convert())


def _batch_key(tensor_name: str, arrays: dict[str, np.ndarray]) -> str:
    """The batch key a LiteRT input tensor stands for: the frozen graph names its inputs after the
    TensorSpec names ("images", maybe with a ":0" suffix or a "serving_default_" prefix)."""
    base = tensor_name.split(":")[0]
    for key in arrays:
        if base == key or base.endswith(f"_{key}"):
            return key
    raise KeyError(f"LiteRT input {tensor_name!r} matches none of the batch inputs {sorted(arrays)}")


def export(model: Any, batch_np: dict[str, np.ndarray], threads: int, workdir: Path) -> Exported:
    from ai_edge_litert.interpreter import Interpreter

    with converting(NAME):
        flatbuffer = convert(model, batch_np)
        path = workdir / "model.tflite"
        path.write_bytes(flatbuffer)
        interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
        interpreter.allocate_tensors()
        arrays = model_inputs(batch_np)
        feeds = [(d["index"], np.ascontiguousarray(arrays[_batch_key(d["name"], arrays)], dtype=d["dtype"]))
                 for d in interpreter.get_input_details()]
        outputs = interpreter.get_output_details()
        if len(outputs) != 1:
            raise ValueError(f"expected one output (the logits), got {[d['name'] for d in outputs]}")
        out_index = outputs[0]["index"]

        def step() -> Any:
            for index, array in feeds:
                interpreter.set_tensor(index, array)
            interpreter.invoke()
            return interpreter.get_tensor(out_index)

        step()
    info = {"runtime": NAME, "versions": versions("ai-edge-litert", "tensorflow-cpu"), "file_bytes": len(flatbuffer),
            "provider": "cpu (builtin kernels, XNNPACK default delegate)", "threads": threads,
            "threads_scope": "interpreter"}
    return Exported(step=step, outputs=as_float32, info=info, handle=interpreter)
