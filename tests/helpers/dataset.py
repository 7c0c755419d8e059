"""A planted raw dataset and its (not yet ingested) database, for the ingest and query tests.

Shared by test_dataset_ingest and test_dataset_query; the `dataset` fixture (tests/conftest.py)
builds one per test with `make_dataset`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fwbench.cells import Cell
from fwbench.dataset import ingest
from fwbench.synthetic import base_cell, write_dataset

TORCH = base_cell()
TF = base_cell(framework="tensorflow", mode="function")
LSTM = base_cell(model="lstm", size="small", seq_len=64)
PLANTED: dict[Cell, float] = {TORCH: 10.0, TF: 12.0, LSTM: 30.0}
REPS = 3


@dataclass
class Dataset:
    raw: Path
    db: Path
    paths: list[Path]

    @property
    def parquet(self) -> Path:
        return self.db.parent / "parquet"

    def sql(self, query: str) -> list[tuple]:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def ingest(self):
        return ingest(self.raw, self.db)


def make_dataset(root: Path) -> Dataset:
    """PLANTED written as REPS raw records per cell under root/raw; the database goes to root/out."""
    raw = root / "raw"
    paths = write_dataset(raw, PLANTED, reps=REPS, seed=1)
    return Dataset(raw=raw, db=root / "out" / "results.duckdb", paths=paths)


def read(path: Path) -> dict:
    return json.loads(path.read_text())
