"""TensorFlow `onnxruntime`: the serving tf.function converted by tf2onnx to a .onnx file, run by
onnxruntime on the CPU provider (the same session settings as the torch ONNX file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fwbench.runtimes import ort, savedmodel
from fwbench.runtimes.base import Exported, converting, model_inputs, versions

NAME = "onnxruntime"


def _erfc_as_one_minus_erf(ctx: Any, node: Any, name: str, args: Any) -> None:
    """tf2onnx handler for TF's Erfc, which ONNX lacks and tf2onnx 1.17 leaves unconverted (an invalid
    graph): Keras's exact GELU is 0.5 * x * erfc(-x / sqrt(2)). Rewritten as 1 - Erf(x); the two
    differ only where erfc is below float32's resolution near 1, i.e. where GELU's output is ~0."""
    from tf2onnx import utils

    node.type = "Erf"
    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
    one = ctx.make_const(utils.make_name(f"{name}_one"), np.array(1, dtype=dtype))
    erf = node.output[0]
    ctx.insert_new_node_on_output("Sub", erf, inputs=[one.output[0], erf], name=utils.make_name(f"{name}_erfc"))


CUSTOM_OP_HANDLERS = {"Erfc": (_erfc_as_one_minus_erf, [])}


def export(model: Any, batch_np: dict[str, np.ndarray], threads: int, workdir: Path) -> Exported:
    with converting(f"tensorflow {NAME}"):
        import tf2onnx

        serve = savedmodel.serving_function(model, batch_np)
        path = workdir / "model_tf.onnx"
        tf2onnx.convert.from_function(serve, input_signature=serve.input_signature, output_path=str(path),
                                      custom_op_handlers=CUSTOM_OP_HANDLERS)
        arrays = model_inputs(batch_np)
        # tf2onnx names graph inputs after the TensorSpec names, with or without the ":0" suffix.
        feeds = {**arrays, **{f"{key}:0": value for key, value in arrays.items()}}
        exported = ort.run_file(path, feeds, threads, versions("tf2onnx", "tensorflow-cpu"))
        exported.step()
    exported.info["exporter"] = "tf2onnx.convert.from_function"
    return exported
