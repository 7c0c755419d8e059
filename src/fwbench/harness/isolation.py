"""Run a worker module in a fresh, supervised process and exchange JSON files with it.

Shared by the speed harness (fwbench.harness.runner) and the accuracy track
(fwbench.accuracy.runner), so both isolate, time out and clean up workers the same way:
parent side, the worker gets its own session (a timeout kills its whole process group,
including helpers such as torch.compile's compile workers), dies with its parent (PDEATHSIG),
and a SIGTERM/SIGHUP to the parent kills it first; worker side, the result file is rewritten
atomically so a killed worker leaves its last complete report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TextIO, TypeVar

#: Longest error text (traceback tail) a worker reports.
ERROR_CHARS = 4000

T = TypeVar("T")


@dataclass
class LaunchResult:
    """What the parent learned about one worker process."""

    returncode: int
    timed_out: bool
    log_text: str
    result_json: dict[str, Any] | None  # the worker's last result file, None if absent or unreadable


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def die_with_parent() -> None:
    """In the worker before exec: get SIGKILL if the parent dies (Linux prctl PR_SET_PDEATHSIG).

    The worker has its own session (so a timeout can kill its whole group); without this, a
    parent killed by SIGKILL would leave it running unsupervised.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@contextmanager
def forward_termination(pgid: int) -> Iterator[None]:
    """While waiting, SIGTERM/SIGHUP to the parent (a workflow cancelling the job) first kill the
    worker's process group, then terminate the parent with the same signal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        kill_group(pgid)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def launch_worker(module: str, spec: dict[str, Any], env: dict[str, str], timeout_s: float,
                  log: TextIO | None = sys.stderr, prefix: str = "fwbench-run-") -> LaunchResult:
    """Run `python -m module SPEC.json RESULT.json` with `env`, wait at most timeout_s, kill its
    process group (a hung worker, or strays of a finished one), relay its log to `log`."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        spec_path, result_path, log_path = (os.path.join(tmp, n) for n in ("spec.json", "result.json", "worker.log"))
        with open(spec_path, "w", encoding="utf-8") as fh:
            json.dump(spec, fh)
        with open(log_path, "w+", encoding="utf-8") as log_fh:
            proc = subprocess.Popen([sys.executable, "-m", module, spec_path, result_path],
                                    env=env, stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT,
                                    start_new_session=True, preexec_fn=die_with_parent)
            timed_out = False
            with forward_termination(proc.pid):
                try:
                    proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    kill_group(proc.pid)
                    proc.wait()
                except BaseException:  # Ctrl-C: no record, but no orphaned worker either
                    kill_group(proc.pid)
                    proc.wait()
                    raise
            kill_group(proc.pid)  # strays of a finished worker (e.g. compile workers)
            log_fh.seek(0)
            log_text = log_fh.read()
        if log is not None and log_text.strip():
            log.write(log_text if log_text.endswith("\n") else log_text + "\n")
        result_json = _read_json(result_path)
    return LaunchResult(returncode=proc.returncode, timed_out=timed_out, log_text=log_text, result_json=result_json)


def result_as(cls: type[T], data: dict[str, Any] | None) -> T | None:
    """The worker's result as dataclass `cls`, None if there is none or its fields do not fit."""
    if data is None:
        return None
    try:
        return cls(**data)
    except TypeError:
        return None


def write_result(path: str, result: Any) -> None:
    """Worker side: replace the result file atomically with the dataclass `result` as JSON."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(asdict(result), fh)
    os.replace(tmp, path)


def mark_skipped(result: Any, backend: Any, device: str) -> bool:
    """Worker side: True, with status skipped and the backend's reason as error, when `device`
    cannot run on this host (checked after the framework is imported and configured)."""
    reason = backend.unavailable_reason(device)
    if reason:
        result.status, result.error = "skipped", reason
    return bool(reason)


def mark_failed(result: Any, backend: Any, exc: BaseException) -> None:
    """Worker side: every exception becomes a status, with its traceback as the error text: the status the
    exception names (`run_status`: unsupported runtime, parity mismatch), oom for the backend's
    out-of-memory errors, else failed. A parity mismatch also keeps its measured difference."""
    result.status = getattr(exc, "run_status", None) or ("oom" if backend.is_oom(exc) else "failed")
    result.error = error_text(exc)
    if getattr(exc, "parity", None) is not None:
        result.parity = exc.parity


def error_text(exc: BaseException) -> str:
    """Worker side: the exception's traceback, its tail if longer than ERROR_CHARS."""
    text = "".join(traceback.format_exception(exc)).strip()
    return text if len(text) <= ERROR_CHARS else "...\n" + text[-ERROR_CHARS:]


def worker_main(argv: list[str] | None, module: str, measure: Callable[[dict[str, Any], str], Any]) -> int:
    """Worker side: `python -m module SPEC.json RESULT.json` -> measure(spec, result_path), then
    leave at once with os._exit (framework teardown is not part of the run and can take seconds)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write(f"usage: python -m {module} SPEC.json RESULT.json\n")
        return 2
    with open(args[0], encoding="utf-8") as fh:
        spec = json.load(fh)
    measure(spec, args[1])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
