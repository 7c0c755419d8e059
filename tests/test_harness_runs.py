"""Real runs through the worker process: every framework x mode x family at tiny size, the cuda
skip, timeout, crash and OOM paths. Each test asserts on the written record, never on a time."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fwbench import constants as C
from fwbench.cells import Cell, implementation_name
from fwbench.harness.record import RunContext
from fwbench.harness.runner import run_cell
from fwbench.harness.worker import FAULT_ENV
from fwbench.records import read_record

SEQ = {"cnn": 0, "cnn_plain": 0, "lstm": 8, "bert": 8}
#: Every framework x Keras backend x mode but torch.compile (slow here: its own tests).
FAST_MODES = [(fw, mode, backend) for fw in C.FRAMEWORKS for backend in C.BACKENDS[fw] for mode in C.MODES[fw]
              if mode != "compile"]
#: One mode of each framework (and of each Keras backend).
FIRST_MODES = [(fw, C.MODES[fw][0], backend) for fw in C.FRAMEWORKS for backend in C.BACKENDS[fw]]


def _ids(cases: list[tuple[str, str, str]]) -> list[str]:
    return [f"{implementation_name(f, b)}-{m}" for f, m, b in cases]


def _ctx(framework: str = "torch", mode: str = "eager", model: str = "cnn", phase: str = "train",
         device: str = "cpu", timeout_s: float = 300, backend: str = C.NATIVE_BACKEND, threads: int = 1,
         size: str = "tiny", batch_size: int = 2, steps: int = 2, **kw: Any) -> RunContext:
    cell = Cell(framework=framework, mode=mode, model=model, size=size, phase=phase, batch_size=batch_size,
                seq_len=SEQ[model], device=device, threads=threads, backend=backend)
    return RunContext(cell=cell, seed=0, warmup=1, steps=steps, timeout_s=timeout_s, **kw)


def _assert_ok(record: dict[str, Any]) -> None:
    assert record["status"] == "ok", record["error"]
    assert record["error"] is None
    assert len(record["steps"]["warmup_ms"]) == 1 and len(record["steps"]["measured_ms"]) == 2
    assert all(record["timings"][k] is not None for k in record["timings"])
    assert record["throughput"] > 0
    memory = record["memory"]
    assert memory["rss_after_import_mb"] > 0
    assert memory["peak_rss_mb"] >= memory["rss_after_import_mb"]
    assert memory["peak_rss_above_import_mb"] >= 0
    assert memory["device_peak_mb"] is None
    assert record["model_info"]["params"] > 0 and record["model_info"]["flops_per_sample"] > 0


@pytest.mark.parametrize("model", C.MODELS)
@pytest.mark.parametrize(("framework", "mode", "backend"), FAST_MODES, ids=_ids(FAST_MODES))
def test_tiny_train_run_writes_an_ok_record(framework: str, mode: str, backend: str, model: str,
                                            tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    run_cell(_ctx(framework, mode, model, backend=backend), out, log=None)
    record = read_record(out)  # validates against the schema
    _assert_ok(record)
    assert record["compile_cache"] == {"state": "none", "dir": None}


@pytest.mark.parametrize(("framework", "mode", "backend"), FIRST_MODES, ids=_ids(FIRST_MODES))
def test_tiny_infer_run_writes_an_ok_record(framework: str, mode: str, backend: str, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    run_cell(_ctx(framework, mode, "lstm", phase="infer", backend=backend), out, log=None)
    record = read_record(out)
    _assert_ok(record)
    if framework == "keras":  # the worker really ran Keras on the cell's backend
        assert record["system"]["framework_build"]["backend"] == backend


@pytest.mark.slow
def test_torch_compile_run_records_cache_state(tmp_path: Path) -> None:
    cache = tmp_path / "inductor"
    out = tmp_path / "run.json"
    run_cell(_ctx("torch", "compile", "cnn", compile_cache_dir=str(cache), compile_cache_state="cold",
                  timeout_s=900), out, log=None)
    record = read_record(out)
    _assert_ok(record)
    assert record["compile_cache"] == {"state": "cold", "dir": str(cache)}


@pytest.mark.parametrize(("framework", "mode", "backend"), FIRST_MODES, ids=_ids(FIRST_MODES))
def test_cuda_cell_without_gpu_is_skipped_with_reason(framework: str, mode: str, backend: str, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    run_cell(_ctx(framework, mode, device="cuda", backend=backend), out, log=None)
    record = read_record(out)
    assert record["status"] == "skipped"
    assert record["error"].startswith("no CUDA device:")
    assert record["steps"] == {"warmup_ms": [], "measured_ms": []} and record["throughput"] is None


def test_cuda_skip_from_the_worker_names_the_framework_check(tmp_path: Path, monkeypatch) -> None:
    """With the driver pre-check bypassed, the worker's own framework check skips the cell."""
    import fwbench.harness.runner as runner

    monkeypatch.setattr(runner, "nvidia_driver_present", lambda: True)
    out = tmp_path / "run.json"
    run_cell(_ctx("torch", "eager", device="cuda"), out, log=None)
    record = read_record(out)
    assert record["status"] == "skipped"
    assert record["error"] == "no CUDA device: torch.cuda.is_available() is False"
    assert record["timings"]["import_s"] is not None


def _with_fault(monkeypatch, fault: str) -> None:
    monkeypatch.setenv(FAULT_ENV, fault)


def test_hung_worker_times_out_and_still_writes_a_record(tmp_path: Path, monkeypatch) -> None:
    _with_fault(monkeypatch, "hang")
    out = tmp_path / "run.json"
    run_cell(_ctx(timeout_s=1.5), out, log=None)
    record = read_record(out)
    assert record["status"] == "timeout"
    assert "timed out after 1.5 s" in record["error"]


def test_worker_exception_becomes_failed_record_with_traceback(tmp_path: Path, monkeypatch) -> None:
    _with_fault(monkeypatch, "raise@import")
    out = tmp_path / "run.json"
    run_cell(_ctx(), out, log=None)
    record = read_record(out)
    assert record["status"] == "failed"
    assert "RuntimeError: injected test fault at import" in record["error"]
    assert record["timings"]["import_s"] is not None and record["memory"]["rss_after_import_mb"] > 0


def test_worker_crash_becomes_failed_record_with_log_tail(tmp_path: Path, monkeypatch) -> None:
    _with_fault(monkeypatch, "abort")
    out = tmp_path / "run.json"
    run_cell(_ctx(), out, log=None)
    record = read_record(out)
    assert record["status"] == "failed"
    assert "SIGABRT" in record["error"] and "injected abort at start" in record["error"]


def test_memory_error_becomes_oom_record(tmp_path: Path, monkeypatch) -> None:
    _with_fault(monkeypatch, "oom@import")
    out = tmp_path / "run.json"
    run_cell(_ctx(), out, log=None)
    record = read_record(out)
    assert record["status"] == "oom" and "MemoryError" in record["error"]


def _fwbench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "fwbench.cli", "run", "--framework", "torch", "--mode", "eager", "--model",
           "cnn", "--size", "tiny", "--phase", "train", "--batch-size", "2", "--threads", "1", "--warmup", "1",
           "--steps", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_cli_exit_status_failed_is_1_unless_keep_going(tmp_path: Path) -> None:
    fault = {FAULT_ENV: "raise"}
    plain = _fwbench("--out", str(tmp_path / "a.json"), env=fault)
    assert plain.returncode == 1 and read_record(tmp_path / "a.json")["status"] == "failed"
    kept = _fwbench("--out", str(tmp_path / "b.json"), "--keep-going", "--grid-name", "smoke", "--grid-version",
                    "3", "--grid-hash", "abc123", "--repetition", "4", env=fault)
    assert kept.returncode == 0
    record = read_record(tmp_path / "b.json")
    assert record["grid"] == {"name": "smoke", "version": 3, "hash": "abc123"} and record["repetition"] == 4
    assert "failed torch/eager cnn-tiny train" in kept.stdout


def _runtime_ctx(runtime: str = "onnxruntime") -> RunContext:
    ctx = _ctx("torch", "eager", phase="infer")
    return replace(ctx, cell=replace(ctx.cell, runtime=runtime))


def test_an_exported_runtime_passes_its_parity_gate_and_records_it(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    run_cell(_runtime_ctx(), out, log=None)
    record = read_record(out)
    assert record["status"] == "ok" and record["cell"]["runtime"] == "onnxruntime"
    assert record["parity"]["max_abs_diff"] <= record["parity"]["tolerance"]
    assert len(record["steps"]["measured_ms"]) == record["protocol"]["measured_steps"]


def test_a_perturbed_exported_model_is_a_mismatch_record_with_its_difference(tmp_path: Path, monkeypatch) -> None:
    _with_fault(monkeypatch, "perturb@export")
    out = tmp_path / "run.json"
    run_cell(_runtime_ctx(), out, log=None)
    record = read_record(out)
    assert record["status"] == "mismatch"
    assert "beyond the parity tolerance" in record["error"]
    assert record["parity"]["max_abs_diff"] > record["parity"]["tolerance"]
    assert record["steps"]["measured_ms"] == []  # nothing timed: the export computes another function


def test_a_runtime_that_cannot_convert_is_an_unsupported_record_with_its_error(tmp_path: Path, monkeypatch) -> None:
    _with_fault(monkeypatch, "unsupported@export")
    out = tmp_path / "run.json"
    run_cell(_runtime_ctx("torchscript"), out, log=None)
    record = read_record(out)
    assert record["status"] == "unsupported"
    assert "RuntimeUnsupported: torchscript: injected test fault" in record["error"]


def test_a_one_thread_jax_run_keeps_one_core_busy(tmp_path: Path) -> None:
    """JAX has no thread setting: the worker pins the process to `threads` cores (limit_cpu_affinity). A jitted
    small-CNN step is large enough for XLA to spread over every core it may use; the run's CPU time over its
    wall time (the cores it kept busy) stays within one core plus scheduling noise."""
    out = tmp_path / "run.json"
    run_cell(_ctx("jax", "jit", "cnn", size="small", batch_size=32, steps=8), out, log=None)
    record = read_record(out)
    assert record["status"] == "ok", record["error"]
    timings = record["timings"]
    assert timings["measured_cpu_s"] / timings["measured_s"] <= 1.15, timings


def test_limit_cpu_affinity_pins_to_the_lowest_cores() -> None:
    code = ("import os; from fwbench.harness.environment import limit_cpu_affinity; "
            "before = sorted(os.sched_getaffinity(0)); after = limit_cpu_affinity(1); "
            "print(after == before[:1], limit_cpu_affinity(64) == after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]
