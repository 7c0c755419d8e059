"""Process environment of a worker, fixed before Python (and numpy's BLAS) starts in it.

OpenMP, MKL, OpenBLAS and TensorFlow read their thread counts when their libraries load, so the
parent puts these variables in the worker's environment at spawn; the worker applies them again
before any framework import for direct invocations. Inter-op threads equal intra-op threads:
the frameworks' own default ties both to the core count, so a cell's `threads` = N means
"this process uses N cores" in both frameworks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from fwbench import constants as C
from fwbench.harness.hardware_class import tf_onednn_default_flags

THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
)


#: TensorFlow reads it once, at import: the `no_onednn` variant sets it to 0, `onednn_on` and `isa_avx2` to 1.
#: Other cells leave it as the host has it (TF's default: on only with AVX512_VNNI, AVX512_BF16, AVX_VNNI or
#: AMX), so standard cells run as they always did.
TF_ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
#: The process environment of each process-level variant (constants.PROCESS_VARIANTS), read by the libraries
#: when they load: oneDNN (in torch and in TensorFlow) caps its JIT ISA by ONEDNN_MAX_CPU_ISA, torch's ATen
#: its kernel dispatch by ATEN_CPU_CAPABILITY, MKL its code path by MKL_ENABLE_INSTRUCTIONS.
VARIANT_ENV: dict[str, dict[str, str]] = {
    C.NO_ONEDNN: {TF_ONEDNN_VARIABLE: "0"},
    C.ONEDNN_ON: {TF_ONEDNN_VARIABLE: "1"},
    C.ISA_AVX2: {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                 TF_ONEDNN_VARIABLE: "1"},
}
#: The CPU flags an ISA cap needs: a cap above what the CPU has cannot be honoured.
ISA_CAP_FLAGS: dict[str, frozenset[str]] = {C.ISA_AVX2: frozenset({"avx2", "fma"})}


def worker_env(threads: int, seed: int, device: str, compile_cache_dir: str | None,
               variant: str = C.STANDARD_VARIANT, backend: str = C.NATIVE_BACKEND) -> dict[str, str]:
    """Variables to set in the worker for one cell (merged over the parent's environment). KERAS_BACKEND is the
    keras cell's backend; every other cell's Keras models are TensorFlow's."""
    env = {name: str(threads) for name in THREAD_VARIABLES}
    env.update({
        "PYTHONHASHSEED": str(seed),
        "KERAS_BACKEND": "tensorflow" if backend == C.NATIVE_BACKEND else backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",  # keep TF's C++ info/warning chatter out of the run log
        "PYTHONUNBUFFERED": "1",
    })
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU cell never touches a GPU, even on a GPU host
        env["JAX_PLATFORMS"] = "cpu"  # JAX would otherwise probe for GPU/TPU plugins
    else:
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # JAX grabs 75% of the GPU by default: peak memory lies
    if compile_cache_dir:
        env["TORCHINDUCTOR_CACHE_DIR"] = compile_cache_dir
    env.update(VARIANT_ENV.get(variant, {}))
    return env


def variant_unavailable_reason(variant: str, device: str, cpu_flags: list[str] | None) -> str | None:
    """Why this host cannot run `variant` as it is meant (the run is then `skipped` with this reason), or None.

    An ISA cap needs a CPU that has the capped ISA; `onednn_on` means something only where TensorFlow's
    oneDNN is off by default (elsewhere it would repeat the standard cell)."""
    if variant not in (C.ISA_AVX2, C.ONEDNN_ON):
        return None
    if device != "cpu":
        return f"{variant} is a CPU kernel setting; this cell runs on {device}"
    if cpu_flags is None:
        return f"{variant}: this host's CPU flags are unreadable (no x86 /proc/cpuinfo flags), so it cannot be honoured"
    if variant in ISA_CAP_FLAGS:
        missing = sorted(ISA_CAP_FLAGS[variant] - set(cpu_flags))
        return (f"{variant}: the CPU lacks {', '.join(missing)}; the cap is above what it has") if missing else None
    on_flags = tf_onednn_default_flags(cpu_flags)
    if on_flags:
        return (f"{variant}: TensorFlow's oneDNN is on by default on this CPU (it has {', '.join(on_flags)}); "
                "the variant would repeat the standard cell")
    return None


def apply_env(env: Mapping[str, str]) -> None:
    os.environ.update(env)


def limit_cpu_affinity(threads: int) -> list[int]:
    """Pin this process to `threads` of the cores it may run on (the lowest-numbered), before XLA's CPU client
    exists: JAX has no intra-op thread setting, and XLA sizes its thread pool by the schedulable cores
    (tsl::port::MaxParallelism reads the affinity mask). No-op when the process already has that many or fewer.
    Returns the cores the process may use afterwards."""
    allowed = sorted(os.sched_getaffinity(0))
    if threads < len(allowed):
        os.sched_setaffinity(0, allowed[:threads])
    return sorted(os.sched_getaffinity(0))
