"""Flatten validated records into columns for one bulk insert: speed runs (kind 'speed') into
runs and steps, accuracy runs (kind 'accuracy') into accuracy_runs and accuracy_epochs, and the
system fingerprint of both into run_systems.

Columns are filled from each Column's `source` path in fwbench.dataset.tables; only derived
columns are computed here. Building Python lists and one Polars frame per table is what keeps
10,000 records x 100 steps to a fraction of a second (no row-by-row INSERTs).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import polars as pl

from fwbench.campaigns import campaign_of_path
from fwbench.cells import DEFAULTED_FIELDS
from fwbench.constants import LATENCY_PERCENTILES
from fwbench.harness.fingerprint import hardware_id_v1
from fwbench.harness.hardware_class import hardware_class
from fwbench.dataset.tables import (ACCURACY_EPOCHS, ACCURACY_RUNS, CAMPAIGNS, RUN_SYSTEMS, RUNS, STEPS,
                                    VERSION_PACKAGES, Column, Table)

#: Tables a Batch fills, in insert order (the dataset's own tables, rebuilt from raw records).
BATCH_TABLES: tuple[Table, ...] = (RUNS, RUN_SYSTEMS, STEPS, ACCURACY_RUNS, ACCURACY_EPOCHS)

_POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
    "DOUBLE": pl.Float64(),
    "TIMESTAMP": pl.Datetime("us"),
    "BOOLEAN": pl.Boolean(),
}


def polars_schema(table: Table) -> dict[str, pl.DataType]:
    return {c.name: _POLARS_TYPES[c.type] for c in table.columns}


def utc_naive(text: str | None) -> datetime | None:
    """ISO-8601 text -> naive UTC datetime (a value without zone is taken as UTC)."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _get(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _convert(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.type == "TIMESTAMP":
        return utc_naive(value)
    if column.type == "VARCHAR" and not isinstance(value, str):
        return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)
    return value


_SYSTEM_FIELDS = frozenset(c.source.split(".", 1)[1] for c in RUN_SYSTEMS.columns
                           if c.source and c.source.startswith("system."))


@dataclass
class Batch:
    """Columns of new rows, one dict of lists per table."""

    runs: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in RUNS.column_names})
    run_systems: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in RUN_SYSTEMS.column_names})
    steps: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in STEPS.column_names})
    accuracy_runs: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in ACCURACY_RUNS.column_names})
    accuracy_epochs: dict[str, list[Any]] = field(
        default_factory=lambda: {c: [] for c in ACCURACY_EPOCHS.column_names})

    def __len__(self) -> int:
        return len(self.run_systems["run_id"])

    def add(self, record: dict[str, Any], path: str, content_hash: str) -> None:
        """Append one validated record (routed by its kind)."""
        _fill(self.run_systems, RUN_SYSTEMS, record)
        extra = {k: v for k, v in record["system"].items() if k not in _SYSTEM_FIELDS}
        self.run_systems["extra"][-1] = json.dumps(extra, sort_keys=True) if extra else None
        self.run_systems["system_id_v1"][-1] = _system_id_v1(record["system"])
        self.run_systems["hardware_class"][-1] = hardware_class(record["system"])
        if record.get("kind") == "accuracy":
            self._add_accuracy(record, path, content_hash)
        else:
            self._add_speed(record, path, content_hash)

    def _add_accuracy(self, record: dict[str, Any], path: str, content_hash: str) -> None:
        _fill(self.accuracy_runs, ACCURACY_RUNS, record)
        epochs = record["epochs"]
        accuracies = [e["val_accuracy"] for e in epochs]
        derived = {"path": path, "content_hash": content_hash, "campaign_id": _campaign(record, path),
                   "n_epochs": len(epochs),
                   "best_val_accuracy": max(accuracies) if accuracies else None,
                   **_versions(record["system"]["packages"])}
        for name, value in derived.items():
            self.accuracy_runs[name][-1] = value
        out = self.accuracy_epochs
        elapsed = 0.0
        for e in epochs:
            elapsed += e["wall_s"]
            out["run_id"].append(record["run_id"])
            for name in ("epoch", "lr", "train_loss", "val_accuracy", "wall_s", "eval_s", "steps"):
                out[name].append(e[name])
            out["elapsed_s"].append(elapsed)

    def _add_speed(self, record: dict[str, Any], path: str, content_hash: str) -> None:
        _fill(self.runs, RUNS, record)
        warm = record["steps"]["warmup_ms"]
        measured = record["steps"]["measured_ms"]
        derived = {
            "path": path,
            "content_hash": content_hash,
            "campaign_id": _campaign(record, path),
            "hardware_class": self.run_systems["hardware_class"][-1],
            **{name: record["cell"].get(name, default) for name, default in DEFAULTED_FIELDS.items()},
            "n_warmup": len(warm),
            "n_measured": len(measured),
            "median_step_ms": float(statistics.median(measured)) if measured else None,
            **{f"p{q}_ms": float(np.percentile(measured, q)) if measured else None for q in LATENCY_PERCENTILES},
            **_versions(record["system"]["packages"]),
        }
        for name, value in derived.items():
            self.runs[name][-1] = value

        steps = self.steps
        run_id = record["run_id"]
        n = len(warm) + len(measured)
        steps["run_id"].extend([run_id] * n)
        steps["step_index"].extend(range(len(warm)))
        steps["step_index"].extend(range(len(measured)))
        steps["phase"].extend(["warmup"] * len(warm))
        steps["phase"].extend(["measured"] * len(measured))
        steps["ms"].extend(warm)
        steps["ms"].extend(measured)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {t.name: pl.DataFrame(getattr(self, t.name), schema=polars_schema(t), strict=False)
                for t in BATCH_TABLES}


def campaign_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """The `campaigns` rows of campaign.json records; the run counts and `partial` are filled by ingest."""
    columns: dict[str, list[Any]] = {c: [] for c in CAMPAIGNS.column_names}
    for record in records:
        _fill(columns, CAMPAIGNS, record)
        columns["hardware_class"][-1] = hardware_class(record["system"])
    return pl.DataFrame(columns, schema=polars_schema(CAMPAIGNS), strict=False)


def _campaign(record: dict[str, Any], path: str) -> str:
    """The record's campaign_id, else the campaign directory it lies in (fwbench.campaigns)."""
    return record.get("campaign_id") or campaign_of_path(path)


def _system_id_v1(system: dict[str, Any]) -> str:
    """The record's id under fingerprint v1: its own system_id when it predates v2 (no fingerprint_version)."""
    if system.get("fingerprint_version", 1) == 1:
        return system["system_id"]
    return hardware_id_v1(system)


def _versions(packages: dict[str, Any]) -> dict[str, Any]:
    """The *_version columns from system.packages (first candidate present wins)."""
    return {name: next((packages[k] for k in candidates if packages.get(k) is not None), None)
            for name, candidates in VERSION_PACKAGES.items()}


_PLANS: dict[str, tuple[tuple[str, Column, tuple[str, ...]], ...]] = {}


def _plan(table: Table) -> tuple[tuple[str, Column, tuple[str, ...]], ...]:
    """(column name, column, source keys) per column, computed once per table."""
    if table.name not in _PLANS:
        _PLANS[table.name] = tuple((c.name, c, tuple(c.source.split(".")) if c.source else ())
                                   for c in table.columns)
    return _PLANS[table.name]


def _fill(columns: dict[str, list[Any]], table: Table, record: dict[str, Any]) -> None:
    for name, column, keys in _plan(table):
        columns[name].append(_convert(column, _get(record, keys)) if keys else None)
