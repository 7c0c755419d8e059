"""The worker process: measures one cell and reports back in a JSON result file.

Run as `python -m fwbench.harness.worker SPEC.json RESULT.json` by runner.run_cell, in a fresh
process whose environment already fixes the thread counts (environment.worker_env). Order:
environment and seeds -> timed framework import -> RSS baseline -> threads/device setup ->
build (model, optimizer, inputs on the device) -> first step (trace/compile) -> warmup steps ->
measured steps. Right after the import, outside every timed phase and before the RSS baseline
(so its few allocations are not charged to the model), it reads its framework's BLAS/oneDNN build
(`framework_build`: the parent never imports a framework, so only the worker can read it; the
runner stores it as the record's system.framework_build). The result file is rewritten
(atomically) after every phase, outside the timed regions, so a parent that has to kill a hung
worker still knows how far it got. Any exception becomes status failed (oom for out-of-memory
errors) with its traceback as the error text.

Test-only fault injection: FWBENCH_TEST_FAULT=<kind>[@<phase>], kind in hang|raise|abort|oom (and, for an
exported runtime, perturb@export and unsupported@export: fwbench.harness.exported),
phase in start|import|build|first_step (default start) -- used by tests of the timeout, crash
and OOM paths; never set by the CLI or the workflow.
"""

from __future__ import annotations

import gc
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from dataclasses import asdict, dataclass, field
from typing import Any

from fwbench import constants as C
from fwbench.harness.environment import apply_env, variant_unavailable_reason, worker_env
from fwbench.harness.fingerprint import cpu_flags
from fwbench.harness.exported import FAULT_ENV, build_exported
from fwbench.harness.isolation import mark_failed, mark_skipped, worker_main, write_result


@dataclass
class WorkerSpec:
    cell: dict[str, Any]
    seed: int
    warmup: int
    steps: int
    compile_cache_dir: str | None = None


@dataclass
class WorkerResult:
    """What the worker measured so far; `final` is True once it stopped on its own."""

    status: str = "failed"
    error: str | None = None
    phase: str = "start"
    final: bool = False
    timings: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(
        ("import_s", "build_s", "first_step_s", "warmup_s", "measured_s")))
    steps: dict[str, list[float]] = field(default_factory=lambda: {"warmup_ms": [], "measured_ms": []})
    memory: dict[str, Any] = field(default_factory=dict)
    device_peak_mb: float | None = None
    params: int | None = None
    flops_per_sample: float | None = None
    compile_cache_state: str | None = None
    framework_build: dict[str, Any] | None = None
    onednn: bool | None = None  # oneDNN kernels enabled when the model was built (backend.onednn_enabled)
    onednn_dispatch: dict[str, Any] | None = None  # oneDNN's ISA and implementations in one untimed step
    parity: dict[str, float] | None = None  # an exported runtime's parity gate (fwbench.harness.exported)


# Lines of torch.__config__.show() that name the math libraries (MKL, oneDNN, OpenMP, LAPACK, the
# CPU capability the kernels dispatch to), and the build settings kept from its "Build settings" line.
TORCH_CONFIG_LINE_MARKERS: tuple[str, ...] = ("Math Kernel Library", "MKL-DNN", "oneDNN", "OpenMP", "LAPACK",
                                              "CPU capability", "NNPACK")
TORCH_BUILD_SETTINGS: tuple[str, ...] = ("BLAS_INFO", "LAPACK_INFO", "USE_MKL", "USE_MKLDNN", "USE_OPENMP",
                                         "TORCH_VERSION", "USE_CUDA", "CUDA_VERSION", "CUDNN_VERSION")
TF_BUILD_INFO_KEYS: tuple[str, ...] = ("is_cuda_build", "is_rocm_build", "is_tensorrt_build", "cuda_version",
                                       "cudnn_version", "cpu_compiler")


def _safe(read: Any) -> Any:
    """read() or None: build introspection differs between versions and must never fail a run."""
    try:
        return read()
    except Exception:  # noqa: BLE001
        return None


def _torch_build(torch: Any) -> dict[str, Any]:
    config = _safe(torch.__config__.show) or ""
    lines = [line.strip().lstrip("- ").strip() for line in config.splitlines()]
    settings: dict[str, str] = {}
    for line in lines:
        if line.startswith("Build settings:"):
            for item in line.split(":", 1)[1].split(", "):
                key, sep, value = item.strip().partition("=")
                if sep and key in TORCH_BUILD_SETTINGS:
                    settings[key] = value.strip()
    parallel = _safe(torch.__config__.parallel_info) or ""
    backend = next((line.split(":", 1)[1].strip() for line in parallel.splitlines()
                    if line.startswith("ATen parallel backend")), None)
    return {
        "mkldnn_available": _safe(torch.backends.mkldnn.is_available),
        "mkl_available": _safe(torch.backends.mkl.is_available),
        "openmp_available": _safe(torch.backends.openmp.is_available),
        "cpu_capability": _safe(lambda: torch.backends.cpu.get_cpu_capability()),
        "parallel_backend": backend,
        "num_threads": _safe(torch.get_num_threads),  # before configure: what the environment set
        "build_settings": settings,
        "libraries": [line for line in lines if any(marker in line for marker in TORCH_CONFIG_LINE_MARKERS)
                      and not line.startswith("Build settings:")],
    }


def _tensorflow_build(tf: Any) -> dict[str, Any]:
    info = _safe(lambda: dict(tf.sysconfig.get_build_info())) or {}

    def port(name: str) -> Any:
        from tensorflow.python.util import _pywrap_util_port

        return bool(getattr(_pywrap_util_port, name)())

    return {
        "build_info": {key: info[key] for key in TF_BUILD_INFO_KEYS if key in info},
        "onednn_built": _safe(lambda: port("IsMklEnabled")),
        "onednn_opts_env": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),  # unset = TF's default for this CPU
        "onednn_max_cpu_isa_env": os.environ.get("ONEDNN_MAX_CPU_ISA"),  # the cap an ISA variant set
        "xla_built": _safe(lambda: port("IsBuiltWithXLA")),
    }


def framework_build(framework: str) -> dict[str, Any] | None:
    """The BLAS/oneDNN build of `framework` (already imported in this worker), plus the thread pools
    threadpoolctl finds loaded in this process (OpenMP, MKL, OpenBLAS, with their versions and thread
    counts). Worker side only: it imports the framework."""
    try:
        if framework == "torch":
            import torch

            build = {"framework": framework, "version": str(torch.__version__), **_torch_build(torch)}
        elif framework == "tensorflow":
            import tensorflow as tf

            build = {"framework": framework, "version": str(tf.__version__), **_tensorflow_build(tf)}
        elif framework == "jax":
            import flax
            import jax
            import jaxlib

            build = {"framework": framework, "version": str(jax.__version__), "jaxlib": str(jaxlib.__version__),
                     "flax": str(flax.__version__), "xla_flags": os.environ.get("XLA_FLAGS")}
        elif framework == "keras":
            import keras

            backend = keras.backend.backend()
            build = {"framework": framework, "version": str(keras.__version__), "backend": backend,
                     "backend_build": framework_build(backend)}
        else:
            return None
    except Exception:  # noqa: BLE001 -- the build description is optional, the run is not
        return None

    def pools() -> list[dict[str, Any]]:
        from threadpoolctl import threadpool_info

        keys = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads")
        return [{key: entry.get(key) for key in keys} for entry in threadpool_info()]

    build["threadpools"] = _safe(pools)
    return build


def _fault(phase: str) -> None:
    spec = os.environ.get(FAULT_ENV, "")
    if not spec:
        return
    kind, _, where = spec.partition("@")
    if (where or "start") != phase:
        return
    if kind == "hang":
        time.sleep(10**6)
    elif kind == "raise":
        raise RuntimeError(f"injected test fault at {phase}")
    elif kind == "abort":
        sys.stderr.write(f"injected abort at {phase}\n")
        sys.stderr.flush()
        os.abort()
    elif kind == "oom":
        raise MemoryError(f"injected out-of-memory at {phase}")


def measure(spec: WorkerSpec, result_path: str) -> WorkerResult:
    """Run the phases of one cell, checkpointing `result` to result_path after each."""
    cell = spec.cell
    threads, device, seed = int(cell["threads"]), cell["device"], spec.seed
    variant = cell.get("variant", C.STANDARD_VARIANT)
    apply_env(worker_env(threads, seed, device, spec.compile_cache_dir, variant,
                         cell.get("backend", C.NATIVE_BACKEND)))
    random.seed(seed)

    import numpy as np

    from fwbench.harness.backends import get_backend
    from fwbench.harness.memory import PeakRss
    from fwbench.harness.timing import phase_clock, time_steps
    from fwbench.models import get_family

    np.random.seed(seed)
    result = WorkerResult()
    timings = result.timings
    memory = PeakRss()
    backend = get_backend(cell["framework"])

    # an exported runtime's files (ONNX, SavedModel, LiteRT): removed when the run ends
    exported = cell.get("runtime", C.NATIVE_RUNTIME) != C.NATIVE_RUNTIME
    export_dir = Path(tempfile.mkdtemp(prefix="fwbench-export-")) if exported else None

    def checkpoint(phase: str) -> None:
        result.phase = phase
        write_result(result_path, result)

    try:
        family = get_family(cell["model"])
        config = family.config(cell["size"], cell["seq_len"])
        result.flops_per_sample = float(family.flops_per_sample(config, cell["seq_len"]))
        _fault("start")
        unhonoured = variant_unavailable_reason(variant, device, cpu_flags())
        if unhonoured:
            result.status, result.error = "skipped", unhonoured
            return result
        checkpoint("import")
        with phase_clock(timings, "import_s"):
            backend.import_framework()
        result.framework_build = framework_build(cell["framework"])
        memory.start()
        result.memory = {"method": memory.method, "rss_after_import_mb": memory.baseline_mb}
        backend.configure(threads, seed, device)
        _fault("import")
        if mark_skipped(result, backend, device):
            return result
        checkpoint("build")
        with backend.device_scope(device):
            with phase_clock(timings, "build_s"):
                batch_np = family.make_batch(config, cell["batch_size"], cell["seq_len"], seed)
                if export_dir is None:
                    workload = backend.build(family, config, batch_np, cell["mode"], cell["phase"], device, seed,
                                             variant)
                else:
                    workload = build_exported(backend, family, config, batch_np, cell, seed, export_dir)
            result.params, result.parity = workload.params, workload.parity
            result.onednn = backend.onednn_enabled()
            sync = workload.sync or backend.sync
            backend.reset_device_peak()
            _fault("build")
            checkpoint("first_step")
            gc.collect()
            first: list[float] = []
            time_steps(workload.step, sync, 1, first)
            timings["first_step_s"] = first[0] / 1000.0
            result.compile_cache_state = backend.compile_cache_state()
            _fault("first_step")
            checkpoint("warmup")
            timings["warmup_s"] = time_steps(workload.step, sync, spec.warmup, result.steps["warmup_ms"])
            checkpoint("measured")
            gc.collect()
            cpu_start = time.process_time()
            timings["measured_s"] = time_steps(workload.step, sync, spec.steps, result.steps["measured_ms"])
            timings["measured_cpu_s"] = time.process_time() - cpu_start
            result.onednn_dispatch = _safe(lambda: backend.onednn_dispatch(lambda: sync(workload.step())))
        result.status = "ok"
        result.phase = "done"
    except BaseException as exc:  # noqa: BLE001 -- every failure becomes a record
        mark_failed(result, backend, exc)
    finally:
        result.memory = asdict(memory.stop())
        try:
            result.device_peak_mb = backend.device_peak_mb()
        except Exception:  # noqa: BLE001 -- a broken device must not hide the run's own error
            result.device_peak_mb = None
        result.final = True
        write_result(result_path, result)
        if export_dir is not None:
            shutil.rmtree(export_dir, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    return worker_main(argv, "fwbench.harness.worker", lambda spec, path: measure(WorkerSpec(**spec), path))


if __name__ == "__main__":
    sys.exit(main())
