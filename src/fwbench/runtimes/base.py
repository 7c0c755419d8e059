"""Types shared by every runtime: the exported model, the error a failed conversion raises, the parity gate.

Kept free of framework imports so `fwbench.runtimes` imports neither torch nor tensorflow.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fwbench.models.base import model_inputs

# The eager-model parity rule of tests/helpers/parity.py (OUT_RTOL): an exported model must give the
# eager model's logits within PARITY_RTOL * max(1, max|logits|), or its timings measure another function.
PARITY_RTOL = 1e-4


class RuntimeUnsupported(Exception):
    """Conversion, loading or the first run of a runtime failed; the message is the underlying error
    ("Type: first line"), so a report can say why a cell is empty instead of skipping it silently.
    A run that raises it is recorded with status `unsupported` (fwbench.harness.isolation.mark_failed)."""

    run_status = "unsupported"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TYPED_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Unsupported)): (.+)$")
MAX_MESSAGE = 500


def _summary(error: BaseException) -> str:
    """The informative line of one exception's message: the first non-empty line, except after a
    header ending in ':' (TensorFlow's "in user code:" traceback dump), where it is the last
    "Type: message" line, with the line after Keras's "Exception encountered when calling ..."."""
    lines = [line.strip() for line in _ANSI.sub("", str(error)).splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    if len(lines) > 1 and lines[0].endswith(":"):
        typed = [i for i, line in enumerate(lines) if _TYPED_LINE.match(line)]
        if typed:
            i = typed[-1]
            text = _TYPED_LINE.match(lines[i]).group(2)  # type: ignore[union-attr]
            if text.startswith("Exception encountered when calling") and i + 1 < len(lines):
                text = f"{text} {lines[i + 1]}"
            return text
    return lines[0]


def describe(error: BaseException) -> str:
    """'Type: message' of the error, one line: the informative line of its message (`_summary`);
    when the error wraps a root cause (raise ... from, e.g. torch.onnx's TorchExportError around
    torch.export's error), the root's type and line follow, which is what says why."""
    text = f"{type(error).__name__}: {_summary(error)}"
    root = error
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    if root is not error:
        text += f" <- {type(root).__name__}: {_summary(root)}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


@contextlib.contextmanager
def converting(runtime: str) -> Iterator[None]:
    """Turn any exception of a conversion/load/first run into RuntimeUnsupported naming the runtime."""
    try:
        yield
    except RuntimeUnsupported:
        raise
    except Exception as error:  # noqa: BLE001 - every converter failure mode is a reportable outcome
        raise RuntimeUnsupported(f"{runtime}: {describe(error)}") from error


@dataclass
class Exported:
    """A model converted for one runtime.

    step: one inference on inputs prepared once at export (outside any timing); returns the
      runtime's own output object, so a timed loop pays no conversion to numpy.
    outputs: that output object -> float32 logits array (called outside timing).
    info: runtime name, package versions, exported file size in bytes (None when nothing is
      written), provider, threads (and how they are applied).
    handle: the runtime object (module, session, interpreter) for introspection, e.g. reading
      thread settings back; not needed to run.
    """

    step: Callable[[], Any]
    outputs: Callable[[Any], np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)
    handle: Any = None


@dataclass
class Parity:
    """Exported vs eager logits: max |diff| and the tolerance it was held to."""

    max_abs_diff: float
    tolerance: float
    ok: bool


def parity_gate(reference: np.ndarray, candidate: np.ndarray, rtol: float = PARITY_RTOL) -> Parity:
    """ok when max|candidate - reference| <= rtol * max(1, max|reference|) (NaN never passes);
    a shape mismatch fails with max_abs_diff inf."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    tolerance = rtol * max(1.0, float(np.abs(reference).max()) if reference.size else 0.0)
    if reference.shape != candidate.shape:
        return Parity(float("inf"), tolerance, False)
    diff = float(np.abs(candidate - reference).max()) if reference.size else 0.0
    return Parity(diff, tolerance, bool(diff <= tolerance))


def versions(*packages: str) -> dict[str, str | None]:
    """Installed distribution versions (None when absent), recorded with every export."""
    out: dict[str, str | None] = {}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def file_size(path: Path) -> int:
    """Bytes of a file, or of every file under a directory (a SavedModel)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def as_float32(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float32)


def torch_inputs(batch_np: dict[str, np.ndarray]) -> dict[str, Any]:
    """The model inputs as the eager torch step gets them (training.to_torch: NHWC images -> NCHW)."""
    from fwbench.models import training

    return training.to_torch(model_inputs(batch_np), "cpu")


def tf_inputs(batch_np: dict[str, np.ndarray]) -> dict[str, Any]:
    """The model inputs as tf tensors on the CPU (training.to_tf)."""
    from fwbench.models import training

    return training.to_tf(model_inputs(batch_np), "cpu")


# How each framework's in-process runtimes take `threads`: torch_export, torchscript and the
# SavedModel run in the framework's own process-wide pools, which the harness backends size
# (torch.set_num_threads, tf.config.threading) before building the model; export does not change them.
PROCESS_THREADS = "process (set by the harness backend)"
