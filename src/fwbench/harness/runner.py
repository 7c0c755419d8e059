"""Run one cell in a fresh worker process, enforce the timeout, and always write the record.

The worker is launched by fwbench.harness.isolation.launch_worker: its own session (process
group), so a timeout kills it together with any helper processes it started (torch.compile's
compile workers). Whatever happens to the worker -- ok, exception, hang, signal, OOM kill --
the parent turns what it learned into a record (`classify_outcome`, shared with the accuracy track)
and writes it atomically with fwbench.records.write_record. Around the worker it records the
machine's state (fwbench.harness.machine_state: a canary timed just before the launch, CPU steal,
iowait, other processes' CPU and load over the run) and adds the worker's framework build to the
fingerprint (`system.framework_build`, null when the worker did not report it).
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from fwbench.harness.environment import worker_env
from fwbench.harness.fingerprint import nvidia_driver_present, system_fingerprint
from fwbench.harness.isolation import launch_worker, result_as
from fwbench.harness.machine_state import observe, without_run
from fwbench.harness.record import RunContext, build_record
from fwbench.harness.worker import WorkerResult, WorkerSpec
from fwbench.records import write_record

LOG_TAIL_CHARS = 2000


def cache_dir_state(path: str | os.PathLike[str]) -> str:
    """'warm' if the directory holds any file, else 'cold' (refined by the worker's counters)."""
    directory = Path(path)
    return "warm" if directory.is_dir() and any(p.is_file() for p in directory.rglob("*")) else "cold"


def _skip_without_worker(ctx: RunContext) -> WorkerResult | None:
    """A cuda cell on a host without an NVIDIA driver is skipped at once, without a worker."""
    if ctx.cell.device == "cuda" and not nvidia_driver_present():
        return WorkerResult(status="skipped", final=True, phase="start", error=(
            "no CUDA device: no NVIDIA driver on this host (/proc/driver/nvidia/version absent, "
            "nvidia-smi not on PATH)"))
    return None


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= LOG_TAIL_CHARS else "..." + text[-LOG_TAIL_CHARS:]


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_worker(ctx: RunContext, log: TextIO | None = sys.stderr) -> WorkerResult:
    """Spawn the worker for ctx, wait at most ctx.timeout_s, and return what it reported."""
    spec = WorkerSpec(cell=ctx.cell.to_dict(), seed=ctx.seed, warmup=ctx.warmup, steps=ctx.steps,
                      compile_cache_dir=ctx.compile_cache_dir)
    env = {**os.environ, **worker_env(ctx.cell.threads, ctx.seed, ctx.cell.device, ctx.compile_cache_dir,
                                       ctx.cell.variant, ctx.cell.backend)}
    launched = launch_worker("fwbench.harness.worker", asdict(spec), env, ctx.timeout_s, log=log)
    result = result_as(WorkerResult, launched.result_json) or WorkerResult(phase="start")
    return classify_outcome(result, launched.returncode, launched.timed_out, ctx.timeout_s, launched.log_text)


def classify_outcome(result: WorkerResult, returncode: int, timed_out: bool, timeout_s: float,
                     log: str) -> WorkerResult:
    """Status of a run from the worker's last report, its exit code and whether it timed out."""
    if timed_out:
        result.status = "timeout"
        result.error = f"timed out after {timeout_s:g} s during phase '{result.phase}' (worker process group killed)"
    elif not result.final:
        if returncode == -signal.SIGKILL:
            result.status = "oom"
            result.error = (f"worker killed by SIGKILL (not by the harness) during phase '{result.phase}': "
                            f"most likely the kernel OOM killer. Log tail:\n{_tail(log)}")
        else:
            how = f"killed by {_signal_name(returncode)}" if returncode < 0 else f"exited with status {returncode}"
            result.status = "failed"
            result.error = f"worker {how} during phase '{result.phase}' without reporting. Log tail:\n{_tail(log)}"
    # A worker that reported its final result and then crashed on exit keeps its status: the
    # measurements were complete (the worker leaves with os._exit, so this is rare).
    result.final = True
    return result


def run_cell(ctx: RunContext, out: str | os.PathLike[str], log: TextIO | None = sys.stderr) -> dict[str, Any]:
    """Measure ctx.cell in a fresh process and write its record to `out`; returns the record."""
    skipped = _skip_without_worker(ctx)
    if skipped is not None:
        result, state = skipped, without_run()
    else:
        with observe() as state:
            result = run_worker(ctx, log=log)
    if result.flops_per_sample is None and result.status == "skipped":
        result.flops_per_sample = _analytic_flops(ctx)
    system = {**system_fingerprint(), "framework_build": result.framework_build}
    record = build_record(ctx, result, system, machine_state=state)
    write_record(out, record)
    return record


def _analytic_flops(ctx: RunContext) -> float | None:
    """FLOPs need no framework, so even a skipped record carries them when the family exists."""
    try:
        from fwbench.models import get_family

        family = get_family(ctx.cell.model)
        return float(family.flops_per_sample(family.config(ctx.cell.size, ctx.cell.seq_len), ctx.cell.seq_len))
    except Exception:  # noqa: BLE001 -- a missing family only leaves the field null
        return None
