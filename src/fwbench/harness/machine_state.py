"""The state of the machine around one run: was the host contended while the worker measured?

A shared VM can slow one framework 2x and another 3.5x on the same day (issue 12), and a step
time alone cannot say so. Every run record therefore carries a top-level `machine_state`:

- a **canary**, run in the parent right before the worker starts: a fixed numpy kernel
  (float64 matmul of two CANARY_SIZE x CANARY_SIZE matrices drawn from CANARY_SEED, BLAS limited
  to one thread with threadpoolctl, so it is the same work whatever the cell's threads), one
  untimed warm-up call and then CANARY_ITERATIONS timed calls -- a fixed count, not a time
  budget, so every run times the same work (~0.45 s on the 2-core reference VM). `canary_ms` is
  the median call; `canary` describes the kernel so the number stays interpretable.
  FWBENCH_CANARY_ITERATIONS overrides the count (0 = no canary, `canary_ms` null); it exists for
  tests and quick checks, and the record states the count that was used.
- from two reads of /proc/stat's aggregate `cpu` line, before the worker starts and after it
  ended: `steal_pct` and `iowait_pct` (of all CPU jiffies of the interval) and `other_cpu_s`,
  the CPU seconds of processes other than the worker and this parent. Busy jiffies are
  user + nice + system + irq + softirq (= total - idle - iowait - steal: steal is time the
  hypervisor gave to another guest, which no process here used; guest time is already inside
  user). The worker's CPU time is the RUSAGE_CHILDREN delta around it (helpers it did not wait
  for, e.g. orphaned compile workers, count as "other"), the parent's the RUSAGE_SELF delta.
  /proc/stat counts in clock ticks (10 ms per CPU), so `other_cpu_s` is clamped at 0.
- `load1_before`/`load1_after`: the 1-minute load average (os.getloadavg) at both reads, and
  `wall_s`, the wall time between them.

Whatever the platform lacks stays null (no /proc/stat: no steal, iowait or other CPU; no
getloadavg: no load). One implementation for both tracks: fwbench.harness.runner (speed) and
fwbench.accuracy.runner use `observe`; a record written without a worker (a cuda cell on a host
without a GPU) uses `without_run`: no canary (the run measures nothing, so no time is spent on it),
the current load in both load fields, everything else null.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Side of the canary's square float64 matrices.
CANARY_SIZE = 512
#: Timed canary calls (after one untimed warm-up call).
CANARY_ITERATIONS = 100
CANARY_SEED = 0
CANARY_ENV = "FWBENCH_CANARY_ITERATIONS"
CANARY_KERNEL = "numpy.matmul float64 (n x n) @ (n x n), standard normal inputs from numpy.random.default_rng(seed)"

#: The keys of `machine_state`, in record order.
STATE_KEYS: tuple[str, ...] = ("canary_ms", "canary", "steal_pct", "iowait_pct", "other_cpu_s", "load1_before",
                               "load1_after", "wall_s")
#: /proc/stat `cpu` line fields in kernel order (guest and guest_nice follow; they are inside user/nice).
PROC_STAT_FIELDS: tuple[str, ...] = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass(frozen=True)
class CpuTimes:
    """Aggregate CPU time since boot, in clock ticks (USER_HZ), from /proc/stat's `cpu` line."""

    user: int = 0
    nice: int = 0
    system: int = 0
    idle: int = 0
    iowait: int = 0
    irq: int = 0
    softirq: int = 0
    steal: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in PROC_STAT_FIELDS)

    @property
    def busy(self) -> int:
        """Ticks some process (or interrupt) of this host ran: total - idle - iowait - steal."""
        return self.user + self.nice + self.system + self.irq + self.softirq


def parse_proc_stat(text: str) -> CpuTimes | None:
    """The aggregate `cpu` line of /proc/stat text; None when absent (older kernels give fewer
    fields: the missing ones are 0)."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            try:
                values = [int(v) for v in parts[1:1 + len(PROC_STAT_FIELDS)]]
            except ValueError:
                return None
            return CpuTimes(**dict(zip(PROC_STAT_FIELDS, values)))
    return None


def read_cpu_times(root: Path = Path("/")) -> CpuTimes | None:
    try:
        return parse_proc_stat((root / "proc/stat").read_text(encoding="ascii", errors="replace"))
    except OSError:
        return None


def clock_ticks_per_second() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100


def load1() -> float | None:
    try:
        return round(os.getloadavg()[0], 3)
    except (AttributeError, OSError):
        return None


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Snapshot:
    """What is read before the worker starts and again after it ended."""

    cpu: CpuTimes | None
    load1: float | None
    children_cpu_s: float
    self_cpu_s: float
    wall: float


def snapshot(root: Path = Path("/")) -> Snapshot:
    return Snapshot(cpu=read_cpu_times(root), load1=load1(), children_cpu_s=_cpu_seconds(resource.RUSAGE_CHILDREN),
                    self_cpu_s=_cpu_seconds(resource.RUSAGE_SELF), wall=time.perf_counter())


def cpu_usage(before: CpuTimes | None, after: CpuTimes | None, own_cpu_s: float,
              ticks_per_s: int | None = None) -> dict[str, float | None]:
    """steal_pct and iowait_pct of all ticks between two reads, and other_cpu_s: busy seconds minus
    `own_cpu_s` (the worker's and the parent's CPU time), clamped at 0. Nulls without two reads or
    without a tick between them."""
    if before is None or after is None or after.total - before.total <= 0:
        return {"steal_pct": None, "iowait_pct": None, "other_cpu_s": None}
    hz = ticks_per_s or clock_ticks_per_second()
    total = after.total - before.total
    busy_s = (after.busy - before.busy) / hz
    return {
        "steal_pct": round(100.0 * (after.steal - before.steal) / total, 3),
        "iowait_pct": round(100.0 * (after.iowait - before.iowait) / total, 3),
        "other_cpu_s": round(max(0.0, busy_s - own_cpu_s), 3),
    }


def canary_iterations() -> int:
    """CANARY_ITERATIONS, or FWBENCH_CANARY_ITERATIONS when set (an integer >= 0; 0 = no canary)."""
    text = os.environ.get(CANARY_ENV, "").strip()
    if not text:
        return CANARY_ITERATIONS
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{CANARY_ENV}={text!r}: expected an integer >= 0 (0 disables the canary)")
    return value


def run_canary(iterations: int | None = None, size: int = CANARY_SIZE) -> dict[str, Any]:
    """Time the canary kernel: {"canary_ms": median ms per call, "canary": its description}; both
    null when iterations is 0."""
    count = canary_iterations() if iterations is None else iterations
    if count <= 0:
        return {"canary_ms": None, "canary": None}
    import numpy as np

    try:
        from threadpoolctl import threadpool_limits

        limit: Any = threadpool_limits(limits=1)
        threads: int | None = 1
    except ImportError:  # not installed: BLAS keeps its default threads, and the record says so
        limit, threads = nullcontext(), None
    rng = np.random.default_rng(CANARY_SEED)
    a, b = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    out = np.empty((size, size))
    times: list[float] = []
    with limit:
        np.matmul(a, b, out=out)  # warm-up: BLAS initialisation, pages of `out`
        for _ in range(count):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            times.append(time.perf_counter() - start)
    return {
        "canary_ms": round(statistics.median(times) * 1000.0, 4),
        "canary": {"kernel": CANARY_KERNEL, "size": size, "dtype": "float64", "seed": CANARY_SEED,
                   "iterations": count, "warmup_iterations": 1, "threads": threads,
                   "total_s": round(sum(times), 6)},
    }


def state_between(before: Snapshot, after: Snapshot, canary: dict[str, Any]) -> dict[str, Any]:
    """The `machine_state` object from the two snapshots and the canary's result."""
    own = (after.children_cpu_s - before.children_cpu_s) + (after.self_cpu_s - before.self_cpu_s)
    return {
        "canary_ms": canary.get("canary_ms"),
        "canary": canary.get("canary"),
        **cpu_usage(before.cpu, after.cpu, own),
        "load1_before": before.load1,
        "load1_after": after.load1,
        "wall_s": round(after.wall - before.wall, 3),
    }


@contextmanager
def observe(canary: bool = True) -> Iterator[dict[str, Any]]:
    """Run the canary, read the machine, run the body (the worker), read it again. Yields a dict
    that holds the `machine_state` object once the block has ended."""
    result = run_canary() if canary else {"canary_ms": None, "canary": None}
    state: dict[str, Any] = {}
    before = snapshot()
    yield state
    state.update(state_between(before, snapshot(), result))


def without_run() -> dict[str, Any]:
    """`machine_state` of a record written without a worker: the current load only."""
    now = load1()
    return {**dict.fromkeys(STATE_KEYS), "load1_before": now, "load1_after": now}


def campaign_machine_state() -> dict[str, Any]:
    """The machine when a campaign starts (its campaign.json): the canary and the 1-minute load."""
    return {**run_canary(), "load1": load1()}
