"""Run one accuracy cell in a fresh worker process, enforce the timeout, always write the record.

Process handling is the speed harness's (fwbench.harness.isolation.launch_worker): the worker
gets its own session so a timeout kills its whole process group, it dies with its parent
(PDEATHSIG), a SIGTERM/SIGHUP to the parent kills it first, and fwbench.harness.runner's
`classify_outcome` turns the worker's last report, exit code and timeout into a status (ok, failed,
oom, timeout). The machine's state around the worker (canary, steal, iowait, other CPU, load) is
recorded as the speed harness does it (fwbench.harness.machine_state.observe). The record is
validated against workflow/schemas/accuracy.schema.yaml and written atomically (fwbench.records).
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, TextIO

from fwbench import constants as C
from fwbench.accuracy.spec import KIND, AccuracyCell
from fwbench.accuracy.worker import AccuracyResult
from fwbench.constants import SCHEMA_VERSION
from fwbench.harness.environment import worker_env
from fwbench.harness.fingerprint import system_fingerprint
from fwbench.harness.isolation import launch_worker, result_as
from fwbench.harness.machine_state import observe
from fwbench.grid import GridRef
from fwbench.harness.record import grid_fields, utc_now
from fwbench.harness.runner import classify_outcome
from fwbench.records import validate_record, write_json_atomic

SCHEMA = "accuracy"


@dataclass
class AccuracyContext:
    """Everything about an accuracy run that the parent knows before the worker starts."""

    cell: AccuracyCell
    timeout_s: float = C.DEFAULT_TIMEOUT_S
    grid: GridRef | None = None
    campaign_id: str | None = None
    repetition: int = 0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: str = field(default_factory=utc_now)


def run_worker(ctx: AccuracyContext, log: TextIO | None = sys.stderr) -> AccuracyResult:
    """Spawn the worker, wait at most ctx.timeout_s, and return its classified result."""
    cell = ctx.cell
    env = {**os.environ, **worker_env(cell.threads, cell.seed, cell.device, None)}
    launched = launch_worker("fwbench.accuracy.worker", {"cell": cell.to_dict()}, env, ctx.timeout_s, log=log,
                             prefix="fwbench-acc-")
    result = result_as(AccuracyResult, launched.result_json) or AccuracyResult()
    return classify_outcome(result, launched.returncode, launched.timed_out,  # type: ignore[arg-type,return-value]
                            ctx.timeout_s, launched.log_text)


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)


def build_record(ctx: AccuracyContext, result: AccuracyResult, system: dict[str, Any],
                 machine_state: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schema-valid accuracy record; final_val_accuracy only when every epoch finished (status ok).
    `machine_state` (fwbench.harness.machine_state) is left out when None."""
    ok = result.status == "ok"
    epochs = [{"epoch": int(e["epoch"]), "lr": float(e["lr"]), "train_loss": float(e["train_loss"]),
               "val_accuracy": float(e["val_accuracy"]), "wall_s": _round(e["wall_s"]),
               "eval_s": _round(e["eval_s"]), "steps": int(e["steps"])} for e in result.epochs]
    record = {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "run_id": ctx.run_id,
        "cell": ctx.cell.to_dict(),
        "cell_id": ctx.cell.cell_id,
        **grid_fields(ctx.grid, ctx.campaign_id),
        "repetition": ctx.repetition,
        "protocol": {"timeout_s": float(ctx.timeout_s)},
        "status": result.status,
        "error": None if ok else (result.error or f"run ended with status {result.status} and no error text"),
        "started_at": ctx.started_at,
        "finished_at": utc_now(),
        "timings": {key: _round(value) for key, value in result.timings.items()},
        "data": result.data,
        "model_info": {"params": result.params},
        "first_batch_loss": result.first_batch_loss,
        "epochs": epochs,
        "final_val_accuracy": epochs[-1]["val_accuracy"] if ok and epochs else None,
        "system": system,
    }
    if machine_state is not None:
        record["machine_state"] = machine_state
    return record


def write_accuracy_record(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Validate against the accuracy schema, then write atomically."""
    validate_record(record, source=str(path), schema=SCHEMA)
    write_json_atomic(path, record)


def run_accuracy(ctx: AccuracyContext, out: str | os.PathLike[str], log: TextIO | None = sys.stderr) -> dict[str, Any]:
    """Train ctx.cell in a fresh process and write its record to `out`; returns the record."""
    with observe() as state:
        result = run_worker(ctx, log=log)
    record = build_record(ctx, result, system_fingerprint(), machine_state=state)
    write_accuracy_record(out, record)
    return record
