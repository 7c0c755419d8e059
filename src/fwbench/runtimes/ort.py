"""The onnxruntime session both frameworks' ONNX files run in: CPU provider, threads set per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fwbench.runtimes.base import Exported, file_size, versions

PROVIDER = "CPUExecutionProvider"


def session(path: Path, threads: int) -> Any:
    """An InferenceSession on `path`: intra-op threads = `threads`, one inter-op thread, sequential
    execution (the graph is a chain; parallel execution would only add scheduling noise)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), sess_options=options, providers=[PROVIDER])


def run_file(path: Path, feeds: dict[str, np.ndarray], threads: int, exporter: dict[str, Any]) -> Exported:
    """Exported for an ONNX file: the session's inputs are fed by name from `feeds` (an exporter may
    drop an input the graph does not use, so only the names the session asks for are fed)."""
    sess = session(path, threads)
    names = [i.name for i in sess.get_inputs()]
    missing = [n for n in names if n not in feeds]
    if missing:
        raise KeyError(f"ONNX inputs {missing} not among the batch inputs {sorted(feeds)}")
    feed = {n: np.ascontiguousarray(feeds[n]) for n in names}
    output = sess.get_outputs()[0].name

    def step() -> Any:
        return sess.run([output], feed)

    info = {"runtime": "onnxruntime", "versions": {**versions("onnxruntime", "onnx"), **exporter},
            "file_bytes": file_size(path), "provider": PROVIDER, "threads": threads, "threads_scope": "session"}
    return Exported(step=step, outputs=lambda out: np.asarray(out[0], dtype=np.float32), info=info, handle=sess)
