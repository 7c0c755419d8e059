"""CPU memory of a run: RSS right after the framework import, and the peak RSS above it.

Method (recorded in each record's memory.method):
1. Preferred, exact: right after the import, write "5" to /proc/self/clear_refs, which resets
   the kernel's RSS high-water mark (VmHWM, also what getrusage's ru_maxrss reports) to the
   current RSS. At the end of the run VmHWM is the exact peak over build and steps: the kernel
   updates it on every RSS change, so a transient buffer freed a microsecond later still counts,
   and nothing runs beside the steps (no sampling thread competing for the GIL or a core).
2. Fallback (clear_refs not writable, non-Linux): a daemon thread samples psutil RSS every
   SAMPLE_INTERVAL_S and keeps the maximum; short transients between samples are missed, so it
   is a lower bound. Unreset ru_maxrss is not used as the peak because it includes the import.
Only the worker process is measured; torch.compile's compile-worker subprocesses are not.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_INTERVAL_S = 0.002
MB = 2**20
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class MemoryResult:
    method: str
    rss_after_import_mb: float | None
    peak_rss_mb: float | None
    peak_rss_above_import_mb: float | None


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


def _status_kb(field: str) -> float | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return float(match.group(1)) if match else None


def high_water_mark_mb() -> float | None:
    """VmHWM of this process in MB (None where /proc is unavailable)."""
    kb = _status_kb("VmHWM")
    return None if kb is None else kb / 1024


def reset_high_water_mark() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if the kernel refuses."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    hwm, rss = _status_kb("VmHWM"), _status_kb("VmRSS")
    # A reset took effect if the mark now sits at (or a page-fault or two above) the current RSS.
    return hwm is not None and rss is not None and hwm <= rss + 1024


class _Sampler(threading.Thread):
    def __init__(self, interval_s: float) -> None:
        super().__init__(name="fwbench-rss-sampler", daemon=True)
        self.interval_s = interval_s
        self.peak = rss_mb()
        self._stop_event = threading.Event()
        self._process = psutil.Process()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            self.peak = max(self.peak, self._process.memory_info().rss / MB)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, rss_mb())
        return self.peak


class PeakRss:
    """Call start() right after the framework import and stop() after the last step."""

    def __init__(self, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.baseline_mb: float | None = None
        self._kernel = False
        self._sampler: _Sampler | None = None

    def start(self) -> None:
        self.baseline_mb = rss_mb()
        self._kernel = reset_high_water_mark()
        if not self._kernel:
            self._sampler = _Sampler(self.interval_s)
            self._sampler.start()

    @property
    def method(self) -> str:
        if self.baseline_mb is None:
            return "not measured: the run ended before the framework import finished"
        if self._kernel:
            return ("kernel high-water mark: VmHWM reset via /proc/self/clear_refs right after the import, "
                    "read after the last step (exact peak RSS over build and steps)")
        return (f"psutil RSS sampling thread every {self.interval_s * 1000:g} ms from right after the import "
                "to the last step (/proc/self/clear_refs not writable; transients between samples missed)")

    def stop(self) -> MemoryResult:
        if self.baseline_mb is None:
            return MemoryResult(self.method, None, None, None)
        if self._sampler is not None:
            peak = self._sampler.stop()
            self._sampler = None
        else:
            peak = high_water_mark_mb() or rss_mb()
        peak = max(peak, self.baseline_mb)
        return MemoryResult(self.method, round(self.baseline_mb, 3), round(peak, 3), round(peak - self.baseline_mb, 3))
