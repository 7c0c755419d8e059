"""The accuracy part of a grid: an `accuracy:` section expanded into accuracy cells and commands.

A grid file may carry one section (validated here, names the field and allowed values on error):

    accuracy:
      frameworks: [torch, tensorflow]          # modes default per framework (spec.DEFAULT_MODE)
      models: {cnn: {size: tiny, epochs: 4}, lstm: {size: tiny, epochs: 6}}
      seeds: 5                                 # seeds 0..4; each seed is one cell (one process per framework)
      batch_size: 32
      lr_schedule: constant                    # or step
      threads: 2
      timeout: 900

Optional per model: lr (default fwbench.accuracy.cli.DEFAULT_LR). One job per framework x model x
seed writes <raw>/<cell-id>/rep-0.json with `fwbench accuracy` (the RunCommand of fwbench.grid, so
the workflow treats it like a speed run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from fwbench import constants as C
from fwbench.accuracy.cli import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SIZE
from fwbench.accuracy.spec import DATASETS, DEFAULT_MODE, LR_SCHEDULES, MODELS, AccuracyCell, LRSchedule
from fwbench.cells import CellError
from fwbench.grid import RunCommand

SECTION_KEYS = ("frameworks", "models", "seeds", "batch_size", "lr_schedule", "threads", "timeout")
MODEL_KEYS = ("size", "epochs", "lr")
DEFAULT_TIMEOUT_S = 900.0


class AccuracyPlanError(ValueError):
    """A malformed accuracy section; names the source, the field and the allowed values."""


@dataclass(frozen=True)
class AccuracyJob:
    cell: AccuracyCell
    timeout: float


def _fail(source: str, field: str, message: str) -> AccuracyPlanError:
    return AccuracyPlanError(f"{source}: accuracy.{field}: {message}")


def _positive_int(source: str, field: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail(source, field, f"invalid value {value!r}; allowed: a positive integer")
    return value


def expand(section: dict[str, Any], source: str = "grid") -> list[AccuracyJob]:
    """Every job of the section, seed-major (seed 0 of every framework and model first)."""
    if not isinstance(section, dict):
        raise _fail(source, "<section>", f"expected a mapping with keys {', '.join(SECTION_KEYS)}")
    unknown = sorted(set(section) - set(SECTION_KEYS))
    if unknown:
        raise _fail(source, unknown[0], f"unknown key; allowed: {', '.join(SECTION_KEYS)}")
    frameworks = section.get("frameworks", list(C.FRAMEWORKS))
    for fw in frameworks:
        if fw not in C.FRAMEWORKS:
            raise _fail(source, "frameworks", f"invalid value {fw!r}; allowed: {', '.join(C.FRAMEWORKS)}")
    models = section.get("models", {m: {} for m in MODELS})
    if not isinstance(models, dict) or not models:
        raise _fail(source, "models", f"expected a mapping of model -> options; allowed models: {', '.join(MODELS)}")
    seeds = _positive_int(source, "seeds", section.get("seeds", 5))
    batch = _positive_int(source, "batch_size", section.get("batch_size", DEFAULT_BATCH_SIZE))
    threads = _positive_int(source, "threads", section.get("threads", 2))
    schedule = section.get("lr_schedule", "constant")
    if schedule not in LR_SCHEDULES:
        raise _fail(source, "lr_schedule", f"invalid value {schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")
    timeout = section.get("timeout", DEFAULT_TIMEOUT_S)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise _fail(source, "timeout", f"invalid value {timeout!r}; allowed: a positive number of seconds")
    jobs = []
    for seed in range(seeds):
        for model, options in models.items():
            options = options or {}
            if model not in MODELS:
                raise _fail(source, "models", f"invalid model {model!r}; allowed: {', '.join(MODELS)}")
            bad = sorted(set(options) - set(MODEL_KEYS))
            if bad:
                raise _fail(source, f"models.{model}.{bad[0]}", f"unknown key; allowed: {', '.join(MODEL_KEYS)}")
            epochs = _positive_int(source, f"models.{model}.epochs", options.get("epochs", DEFAULT_EPOCHS[model]))
            lr = options.get("lr", DEFAULT_LR[model])
            for fw in frameworks:
                try:
                    cell = AccuracyCell(framework=fw, mode=DEFAULT_MODE[fw], model=model,
                                        size=options.get("size", DEFAULT_SIZE[model]), dataset=DATASETS[model],
                                        epochs=epochs, batch_size=batch,
                                        lr_schedule=LRSchedule.make(schedule, epochs, lr), seed=seed, threads=threads)
                except CellError as exc:
                    raise _fail(source, f"models.{model}.{exc.field}", str(exc)) from exc
                jobs.append(AccuracyJob(cell, float(timeout)))
    return jobs


def accuracy_command(job: AccuracyJob, out: str | os.PathLike[str], grid_name: str, grid_version: int | str,
                     grid_hash: str, repetition: int = 0) -> RunCommand:
    """The `fwbench accuracy` command of one job writing its record to `out`."""
    c = job.cell
    return RunCommand((
        "fwbench", "accuracy", "--framework", c.framework, "--mode", c.mode, "--model", c.model, "--size", c.size,
        "--epochs", str(c.epochs), "--batch-size", str(c.batch_size), "--lr-schedule", c.lr_schedule.name,
        "--lr", repr(c.lr_schedule.base_lr), "--seed", str(c.seed), "--threads", str(c.threads),
        "--device", c.device, "--timeout", str(job.timeout), "--grid-name", grid_name,
        "--grid-version", str(grid_version), "--grid-hash", grid_hash, "--repetition", str(repetition),
        "--keep-going", "--out", str(out),
    ))
