"""Schema-valid synthetic accuracy records with planted accuracies, for tests of ingest, stats and
figures (never for results): a planted gap between frameworks must come back out of the analysis."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fwbench.accuracy.runner import write_accuracy_record
from fwbench.accuracy.spec import DATASETS, KIND, AccuracyCell, LRSchedule
from fwbench.constants import SCHEMA_VERSION
from fwbench.synthetic.runs import fake_system


def base_accuracy_cell(**overrides: Any) -> AccuracyCell:
    """A tiny CNN accuracy cell; override any field (dataset follows the model unless given)."""
    model = overrides.get("model", "cnn")
    epochs = overrides.get("epochs", 4)
    values: dict[str, Any] = dict(framework="torch", mode="eager", model=model, size="tiny", dataset=DATASETS[model],
                                  epochs=epochs, batch_size=32, lr_schedule=LRSchedule.make("constant", epochs),
                                  seed=0, threads=2)
    values.update(overrides)
    return AccuracyCell(**values)


def make_accuracy_record(cell: AccuracyCell, *, final_accuracy: float, seconds_per_epoch: float = 1.0,
                         status: str = "ok", system: dict[str, Any] | None = None,
                         grid: dict[str, Any] | None = None, repetition: int = 0,
                         rng: np.random.Generator | None = None) -> dict[str, Any]:
    """A record whose validation accuracy rises to `final_accuracy` (exponential approach over the
    epochs); epoch wall times are seconds_per_epoch with 2% noise. A non-ok status keeps half the epochs."""
    rng = rng or np.random.default_rng(cell.seed)
    ok = status == "ok"
    n = cell.epochs if ok else cell.epochs // 2
    start = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=int(rng.integers(0, 10**6)))
    epochs = []
    for e in range(1, n + 1):
        progress = (1 - np.exp(-3 * e / cell.epochs)) / (1 - np.exp(-3))
        epochs.append({"epoch": e, "lr": cell.lr_schedule.lr(e - 1), "train_loss": float(2.3 * (1 - 0.8 * progress)),
                       "val_accuracy": float(min(1.0, max(0.0, 0.1 + (final_accuracy - 0.1) * progress))),
                       "wall_s": float(seconds_per_epoch * np.exp(rng.normal(0, 0.02))), "eval_s": 0.05,
                       "steps": 44})
    train_s = sum(e["wall_s"] for e in epochs)
    return {
        "schema_version": SCHEMA_VERSION, "kind": KIND,
        # hashed with the cell id, so run ids never collide with fwbench.synthetic's speed records
        "run_id": hashlib.md5(f"accuracy:{cell.cell_id}:{repetition}:{int(rng.integers(0, 2**63))}".encode()).hexdigest(),
        "cell": cell.to_dict(), "cell_id": cell.cell_id, "grid": grid, "repetition": repetition,
        "protocol": {"timeout_s": 600.0}, "status": status, "error": None if ok else f"synthetic {status}",
        "started_at": start.isoformat(), "finished_at": (start + timedelta(seconds=train_s + 5)).isoformat(),
        "timings": {"import_s": 2.0, "build_s": 0.3, "train_s": train_s, "eval_s": 0.05 * n},
        "data": {"dataset": cell.dataset, "description": "synthetic", "n_train": 1438, "n_val": 359,
                 "split_seed": 1},
        "model_info": {"params": 19954}, "first_batch_loss": 2.4, "epochs": epochs,
        "final_val_accuracy": epochs[-1]["val_accuracy"] if ok and epochs else None,
        "system": system or fake_system(),
    }


def write_accuracy_dataset(raw_dir: str | Path, finals: dict[str, float], *, seeds: int = 5,
                           model: str = "cnn", noise: float = 0.002, grid_name: str = "synthetic",
                           system: dict[str, Any] | None = None, seed: int = 0) -> list[Path]:
    """Per framework (finals: framework -> planted mean final accuracy) one record per seed, in the
    data/raw layout; a per-seed effect is shared by both frameworks, as identical starts make it."""
    rng = np.random.default_rng(seed)
    system = system or fake_system()
    grid = {"name": grid_name, "version": 1, "hash": "synthetic"}
    paths = []
    for s in range(seeds):
        seed_effect = float(rng.normal(0, 0.01))
        for framework, final in finals.items():
            cell = base_accuracy_cell(model=model, seed=s, framework=framework,
                                      mode="eager" if framework == "torch" else "function")
            acc = final + seed_effect + float(rng.normal(0, noise))
            record = make_accuracy_record(cell, final_accuracy=acc, system=system, grid=grid, rng=rng)
            path = Path(raw_dir) / grid_name / system["system_id"] / cell.cell_id / "rep-0.json"
            write_accuracy_record(path, record)
            paths.append(path)
    return paths


