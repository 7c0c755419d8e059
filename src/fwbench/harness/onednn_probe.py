"""What oneDNN dispatched in a run: its effective ISA and the implementations one step ran.

An ISA cap (ONEDNN_MAX_CPU_ISA) is only evidence if the library says it obeyed, so after the measured
steps, outside every timed phase, the worker runs one more step with oneDNN's verbose mode on and keeps
the header's `isa:` line and the `primitive:implementation` names of that step (e.g.
`convolution:brg_conv_fwd:avx2`). torch switches verbose at run time (torch.backends.mkldnn.verbose);
TensorFlow's oneDNN reads ONEDNN_VERBOSE once, at its first primitive, and exposes no switch, so its
runs report `onednn` (IsMklEnabled) and the cap they were given, not a dispatch log.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

VERBOSE_PREFIX = "onednn_verbose"
_ISA_MARK = ",info,cpu,isa:"
_EXEC_MARK = ",primitive,exec,cpu,"


def parse_verbose(text: str) -> dict[str, Any]:
    """{isa, implementations} from oneDNN verbose lines (v1 format); isa None and no implementations when
    no oneDNN primitive ran (the model's ops went elsewhere: MKL, ATen, Eigen)."""
    isa: str | None = None
    implementations: set[str] = set()
    for line in text.splitlines():
        if not line.startswith(VERBOSE_PREFIX):
            continue
        if _ISA_MARK in line:
            isa = line.split(_ISA_MARK, 1)[1].strip()
        elif _EXEC_MARK in line:
            primitive, implementation = (line.split(_EXEC_MARK, 1)[1].split(",") + ["", ""])[:2]
            implementations.add(f"{primitive}:{implementation}")
    return {"isa": isa, "implementations": sorted(implementations)}


def captured_stdout(run: Callable[[], Any]) -> str:
    """What `run` and the C libraries it calls write to file descriptor 1 (oneDNN prints with printf)."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            run()
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
        sink.seek(0)
        return sink.read().decode("utf-8", errors="replace")
