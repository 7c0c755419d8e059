"""The accuracy worker process: trains one accuracy cell and reports after every epoch.

Run as `python -m fwbench.accuracy.worker SPEC.json RESULT.json` by fwbench.accuracy.runner, in a
fresh process whose environment already fixes the thread counts (fwbench.harness.environment).
Framework import, thread and seed setup go through the speed harness's backends (the same calls,
in the same order, before anything runs). The TensorFlow worker also imports torch, configured
with the same threads: the initial weights are built by torch and copied. The result file is
rewritten atomically after each phase and each epoch, so a run killed by its timeout keeps the
epochs it finished.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fwbench.harness.environment import apply_env, worker_env
from fwbench.harness.isolation import mark_failed, mark_skipped, worker_main, write_result


@dataclass
class AccuracyResult:
    """What the worker did so far; `final` is True once it stopped on its own (runner.classify_outcome reads
    status/error/phase/final, the same fields as the speed worker's result)."""

    status: str = "failed"
    error: str | None = None
    phase: str = "start"
    final: bool = False
    timings: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(
        ("import_s", "build_s", "train_s", "eval_s")))
    params: int | None = None
    data: dict[str, Any] | None = None
    first_batch_loss: float | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)


def measure(cell_dict: dict[str, Any], result_path: str) -> AccuracyResult:
    """Import, configure, build and train the cell, checkpointing the result to result_path."""
    threads, seed, device = int(cell_dict["threads"]), int(cell_dict["seed"]), cell_dict["device"]
    apply_env(worker_env(threads, seed, device, None))
    random.seed(seed)

    import numpy as np

    from fwbench.accuracy import data as D
    from fwbench.accuracy.spec import AccuracyCell
    from fwbench.accuracy.train import build_trainer, model_config, train
    from fwbench.harness.backends import get_backend

    np.random.seed(seed)
    result = AccuracyResult()
    timings = result.timings
    cell = AccuracyCell.from_dict(cell_dict)
    backends = [get_backend("torch")] + ([get_backend("tensorflow")] if cell.framework == "tensorflow" else [])
    backend = backends[-1]

    def checkpoint(phase: str) -> None:
        result.phase = phase
        write_result(result_path, result)

    try:
        checkpoint("import")
        start = time.perf_counter()
        for b in backends:
            b.import_framework()
        timings["import_s"] = time.perf_counter() - start
        for b in backends:
            b.configure(threads, seed, device)
        if mark_skipped(result, backend, device):
            return result
        checkpoint("build")
        with backend.device_scope(device):
            start = time.perf_counter()
            split = D.load(cell.dataset)
            trainer = build_trainer(cell, model_config(cell, split))
            timings["build_s"] = time.perf_counter() - start
            result.params = trainer.params
            result.data = {"dataset": split.name, "description": split.description, "n_train": split.n_train,
                           "n_val": split.n_val, "split_seed": D.SPLIT_SEED}
            checkpoint("train")

            def on_epoch(epoch: Any, first_loss: float | None) -> None:
                result.first_batch_loss = first_loss
                result.epochs.append(asdict(epoch))
                timings["train_s"] = sum(e["wall_s"] for e in result.epochs)
                timings["eval_s"] = sum(e["eval_s"] for e in result.epochs)
                checkpoint("train")

            train(cell, split, trainer, on_epoch)
        result.status, result.phase = "ok", "done"
    except BaseException as exc:  # noqa: BLE001 -- every failure becomes a record
        mark_failed(result, backend, exc)
    finally:
        result.final = True
        write_result(result_path, result)
    return result


def main(argv: list[str] | None = None) -> int:
    return worker_main(argv, "fwbench.accuracy.worker", lambda spec, path: measure(spec["cell"], path))


if __name__ == "__main__":
    sys.exit(main())
