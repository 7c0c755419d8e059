"""Polars access: every table and view of the results database as a LazyFrame.

The frames are deferred (polars.defer): load() only reads the schemas, and a table's rows are
read from DuckDB (via Arrow) when that frame is collected, so loading `steps` costs nothing
until it is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import polars as pl

from fwbench import paths
from fwbench.dataset import store


def _open(db: Path) -> duckdb.DuckDBPyConnection:
    """Read-only, unless this process already holds the file open for writing (DuckDB forbids mixing)."""
    try:
        return store.connect(db, read_only=True)
    except duckdb.ConnectionException:
        return store.connect(db)


def _reader(db: Path, name: str) -> Callable[[], pl.DataFrame]:
    def read() -> pl.DataFrame:
        con = _open(db)
        try:
            return con.sql(f'SELECT * FROM "{name}"').pl()
        finally:
            con.close()

    return read


def load(db_path: str | os.PathLike[str] | None = None,
         tables: Iterable[str] | None = None) -> dict[str, pl.LazyFrame]:
    """{name: LazyFrame} for every table and view (or the named ones) of the database."""
    db = Path(db_path) if db_path is not None else paths.DB_PATH
    con = _open(db)
    try:
        available = store.table_names(con) + store.table_names(con, "VIEW")
        wanted = list(tables) if tables is not None else available
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise KeyError(f"{db}: no table or view {', '.join(unknown)}; available: {', '.join(sorted(available))}")
        schemas = {name: con.sql(f'SELECT * FROM "{name}" LIMIT 0').pl().schema for name in wanted}
    finally:
        con.close()
    return {name: pl.defer(_reader(db, name), schema=schemas[name]) for name in wanted}
