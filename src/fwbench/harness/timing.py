"""Clocks for the phases and steps of a run: time.perf_counter, stopped only after a sync.

A step's clock stops after `sync(output)` has materialised the result on the host (and waited
for the device), so asynchronous execution can never make a step look faster than it was.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def phase_clock(sink: dict[str, float | None], key: str) -> Iterator[None]:
    """Store the wall time of the with-block in sink[key] (seconds), only if it completes."""
    start = time.perf_counter()
    yield
    sink[key] = time.perf_counter() - start


def time_steps(step: Callable[[], Any], sync: Callable[[Any], None], count: int, out_ms: list[float]) -> float:
    """Run `count` synchronised steps, appending each step's ms to out_ms as it ends; total s.

    Appending as we go keeps the steps already done if a later one raises (OOM, crash).
    """
    perf = time.perf_counter
    total = 0.0
    for _ in range(count):
        start = perf()
        sync(step())
        elapsed = perf() - start
        out_ms.append(elapsed * 1000.0)
        total += elapsed
    return total


def throughput(batch_size: int, measured_ms: list[float]) -> float | None:
    """Samples per second from the median measured step (None without steps)."""
    if not measured_ms:
        return None
    median_ms = statistics.median(measured_ms)
    return batch_size / (median_ms / 1000.0) if median_ms > 0 else None
