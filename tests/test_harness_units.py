"""Harness pieces without a worker: step clock, throughput, memory method, record assembly, status."""

from __future__ import annotations

import signal

import numpy as np

from fwbench.harness import memory
from fwbench.grid import GridRef
from fwbench.harness.record import RunContext, build_record
from fwbench.harness.runner import classify_outcome, cache_dir_state
from fwbench.harness.timing import throughput, time_steps
from fwbench.harness.worker import WorkerResult
from fwbench.records import record_errors
from fwbench.synthetic import base_cell, fake_system


def test_time_steps_records_each_step_after_sync() -> None:
    calls: list[str] = []
    out: list[float] = []
    total = time_steps(lambda: calls.append("step") or 1, lambda o: calls.append("sync"), 3, out)
    assert calls == ["step", "sync"] * 3
    assert len(out) == 3 and all(ms >= 0 for ms in out)
    assert abs(total * 1000 - sum(out)) < 1e-6


def test_time_steps_keeps_steps_done_before_a_failure() -> None:
    out: list[float] = []
    state = {"n": 0}

    def step() -> int:
        state["n"] += 1
        if state["n"] == 3:
            raise MemoryError("boom")
        return 0

    try:
        time_steps(step, lambda o: None, 5, out)
    except MemoryError:
        pass
    assert len(out) == 2


def test_throughput_uses_the_median_step() -> None:
    assert throughput(32, [10.0, 1000.0, 20.0]) == 32 / 0.02
    assert throughput(32, []) is None


def test_peak_rss_sees_a_transient_allocation() -> None:
    peak = memory.PeakRss()
    peak.start()
    block = np.ones(200 * 2**20 // 8)  # 200 MB, touched, then freed
    del block
    result = peak.stop()
    assert result.peak_rss_above_import_mb is not None and result.peak_rss_above_import_mb >= 150
    assert result.peak_rss_mb >= result.rss_after_import_mb


def test_sampling_fallback_when_clear_refs_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(memory, "reset_high_water_mark", lambda: False)
    peak = memory.PeakRss(interval_s=0.001)
    peak.start()
    block = np.ones(200 * 2**20 // 8)
    for _ in range(50):  # keep it alive for a few sampling intervals
        block += 1.0
    del block
    result = peak.stop()
    assert "sampling thread" in result.method
    assert result.peak_rss_above_import_mb >= 100


def _ctx(**kw) -> RunContext:
    return RunContext(cell=base_cell(size="tiny"), seed=0, warmup=1, steps=3, timeout_s=60, **kw)


def test_record_of_an_ok_result_is_schema_valid() -> None:
    result = WorkerResult(status="ok", final=True, phase="done", params=10, flops_per_sample=1.0,
                          memory={"method": "m", "rss_after_import_mb": 1.0, "peak_rss_mb": 2.0,
                                  "peak_rss_above_import_mb": 1.0})
    result.timings.update(import_s=1.0, build_s=0.1, first_step_s=0.2, warmup_s=0.1, measured_s=0.3)
    result.steps.update(warmup_ms=[100.0], measured_ms=[90.0, 100.0, 110.0])
    record = build_record(_ctx(grid=GridRef("smoke", 1, "abc"), repetition=2), result, fake_system())
    assert record_errors(record) == []
    assert record["throughput"] == 32 / 0.1 and record["error"] is None
    assert record["grid"] == {"name": "smoke", "version": 1, "hash": "abc"} and record["repetition"] == 2


def test_record_of_an_empty_result_is_schema_valid_and_carries_the_error() -> None:
    result = classify_outcome(WorkerResult(), -signal.SIGSEGV, False, 60, "Segmentation fault")
    record = build_record(_ctx(), result, fake_system())
    assert record_errors(record) == []
    assert record["status"] == "failed" and "SIGSEGV" in record["error"] and "Segmentation fault" in record["error"]
    assert record["throughput"] is None


def test_classify_timeout_sigkill_and_reported_results() -> None:
    partial = WorkerResult(phase="first_step")
    timed = classify_outcome(partial, -signal.SIGKILL, True, 5, "")
    assert timed.status == "timeout" and "5 s" in timed.error and "first_step" in timed.error
    killed = classify_outcome(WorkerResult(phase="measured"), -signal.SIGKILL, False, 5, "")
    assert killed.status == "oom" and "OOM killer" in killed.error
    exited = classify_outcome(WorkerResult(phase="build"), 3, False, 5, "Traceback ...")
    assert exited.status == "failed" and "status 3" in exited.error
    reported = classify_outcome(WorkerResult(status="oom", error="MemoryError", final=True), 0, False, 5, "")
    assert (reported.status, reported.error) == ("oom", "MemoryError")


def test_compile_cache_dir_state(tmp_path) -> None:
    assert cache_dir_state(tmp_path / "absent") == "cold"
    assert cache_dir_state(tmp_path) == "cold"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "entry").write_text("x")
    assert cache_dir_state(tmp_path) == "warm"


def test_worker_cache_state_overrides_directory_guess() -> None:
    result = WorkerResult(status="ok", final=True, compile_cache_state="cold")
    result.steps["measured_ms"] = [1.0]
    record = build_record(_ctx(compile_cache_dir="/x", compile_cache_state="warm"), result, fake_system())
    assert record["compile_cache"] == {"state": "cold", "dir": "/x"}
