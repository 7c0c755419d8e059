"""The queryable dataset: raw run records -> DuckDB (data/results.duckdb) + Parquet (data/parquet).

Public API (duckdb and polars are imported on first use, so `fwbench` stays quick to start):
- ingest(raw_dir=None, db_path=None, parquet_dir=None) -> IngestResult
- connect(db_path=None, read_only=False) -> duckdb.DuckDBPyConnection
- write_table(con, name, polars_df, parquet_dir=None) -> Path | None
- drop_table(con, name, parquet_dir=None) -> None
- load(db_path=None, tables=None) -> dict[str, polars.LazyFrame]
- query(sql, db_path=None) -> polars.DataFrame
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from fwbench.dataset.ingestion import IngestResult

__all__ = ["connect", "drop_table", "ingest", "load", "query", "write_table"]


def connect(db_path: str | os.PathLike[str] | None = None, read_only: bool = False) -> "duckdb.DuckDBPyConnection":
    """Open data/results.duckdb (or db_path); stats adds its tables through this connection."""
    from fwbench.dataset.store import connect as _connect

    return _connect(db_path, read_only=read_only)


def write_table(con: "duckdb.DuckDBPyConnection", name: str, df: "pl.DataFrame",
                parquet_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Replace table `name` with df and write <parquet dir>/<name>.parquet (see store.write_table)."""
    from fwbench.dataset.store import write_table as _write_table

    return _write_table(con, name, df, parquet_dir)


def drop_table(con: "duckdb.DuckDBPyConnection", name: str, parquet_dir: str | os.PathLike[str] | None = None) -> None:
    """Drop table `name` and its Parquet file (see store.drop_table)."""
    from fwbench.dataset.store import drop_table as _drop_table

    _drop_table(con, name, parquet_dir)


def ingest(raw_dir: str | os.PathLike[str] | None = None, db_path: str | os.PathLike[str] | None = None,
           parquet_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> "IngestResult":
    """Bring the database in line with the raw records (see fwbench.dataset.ingestion)."""
    from fwbench.dataset.ingestion import ingest as _ingest

    return _ingest(raw_dir, db_path, parquet_dir, **kwargs)


def query(sql: str, db_path: str | os.PathLike[str] | None = None) -> "pl.DataFrame":
    """One SQL statement on the results database (read-only) as a Polars DataFrame."""
    from fwbench.dataset.query import run_query

    return run_query(sql, db_path)


def load(db_path: str | os.PathLike[str] | None = None,
         tables: Iterable[str] | None = None) -> dict[str, "pl.LazyFrame"]:
    """Every table and view (or only `tables`) as Polars LazyFrames read from the database on collect()."""
    from fwbench.dataset.frames import load as _load

    return _load(db_path, tables)
