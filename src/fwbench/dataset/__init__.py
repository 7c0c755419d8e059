"""The queryable dataset: raw run records -> DuckDB (data/results.duckdb) + Parquet (data/parquet).

Public API (duckdb and polars are imported on first use, so `fwbench` stays quick to start):
- ingest(raw_dir=None, db_path=None, parquet_dir=None) -> IngestResult
- connect(db_path=None, read_only=False) -> duckdb.DuckDBPyConnection
- write_tables(con, {name: polars_df or None}, parquet_dir=None) -> list[Path]  (None drops a table;
  datapackage.json is refreshed once per call, so a stage passes all its tables in one call)
- write_table(con, name, polars_df, parquet_dir=None) -> Path | None  (one-table write_tables)
- drop_table(con, name, parquet_dir=None) -> None  (one-table write_tables)
- load(db_path=None, tables=None) -> dict[str, polars.LazyFrame]
- query(sql, db_path=None) -> polars.DataFrame
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from fwbench.dataset.ingestion import IngestResult

__all__ = ["connect", "drop_table", "ingest", "load", "query", "write_table", "write_tables"]


def connect(db_path: str | os.PathLike[str] | None = None, read_only: bool = False) -> "duckdb.DuckDBPyConnection":
    """Open data/results.duckdb (or db_path); stats adds its tables through this connection."""
    from fwbench.dataset.store import connect as _connect

    return _connect(db_path, read_only=read_only)


def write_tables(con: "duckdb.DuckDBPyConnection", tables: Mapping[str, "pl.DataFrame | None"],
                 parquet_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Replace (DataFrame) or drop (None) each table and its Parquet file, then refresh
    datapackage.json once (see fwbench.dataset.publish.write_tables)."""
    from fwbench.dataset.publish import write_tables as _write_tables

    return _write_tables(con, tables, parquet_dir)


def write_table(con: "duckdb.DuckDBPyConnection", name: str, df: "pl.DataFrame",
                parquet_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Replace table `name` with df, write <parquet dir>/<name>.parquet, refresh datapackage.json.

    For several tables use write_tables: it refreshes datapackage.json once for all of them.
    """
    written = write_tables(con, {name: df}, parquet_dir)
    return written[0] if written else None


def drop_table(con: "duckdb.DuckDBPyConnection", name: str, parquet_dir: str | os.PathLike[str] | None = None) -> None:
    """Drop table `name` and its Parquet file, refresh datapackage.json (a one-table write_tables)."""
    write_tables(con, {name: None}, parquet_dir)


def ingest(raw_dir: str | os.PathLike[str] | None = None, db_path: str | os.PathLike[str] | None = None,
           parquet_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> "IngestResult":
    """Bring the database in line with the raw records (see fwbench.dataset.ingestion)."""
    from fwbench.dataset.ingestion import ingest as _ingest

    return _ingest(raw_dir, db_path, parquet_dir, **kwargs)


def query(sql: str, db_path: str | os.PathLike[str] | None = None) -> "pl.DataFrame":
    """One SQL statement on the results database (read-only) as a Polars DataFrame."""
    from fwbench.dataset.sql_query import run_query

    return run_query(sql, db_path)


def load(db_path: str | os.PathLike[str] | None = None,
         tables: Iterable[str] | None = None) -> dict[str, "pl.LazyFrame"]:
    """Every table and view (or only `tables`) as Polars LazyFrames read from the database on collect()."""
    from fwbench.dataset.frames import load as _load

    return _load(db_path, tables)
