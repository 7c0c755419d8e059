"""Publishing tables other stages add to the dataset: DuckDB table + Parquet file + datapackage.json.

A stage (e.g. `fwbench analyze`) hands all of its tables to `write_tables` at once, so
datapackage.json is rebuilt once per stage rather than once per table, and it lists exactly the
tables present afterwards (written ones added, dropped ones gone). store.py writes tables and
metadata.py describes them; this module joins the two, so neither has to import the other late.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl

from fwbench.dataset import store
from fwbench.dataset.metadata import write_datapackage


def write_tables(con: duckdb.DuckDBPyConnection, tables: Mapping[str, pl.DataFrame | None],
                 parquet_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Replace (DataFrame) or drop (None) each named table and its Parquet file; then refresh
    datapackage.json once. Returns the Parquet paths written, in the order of `tables`.

    parquet_dir defaults to the `parquet` directory next to the database file; an in-memory
    database without parquet_dir gets only the tables (no Parquet, no datapackage.json). Every
    name is checked before anything is written; tables owned by `fwbench ingest` are refused.
    """
    for name in tables:
        store.check_writable(name)
    directory = store.resolve_parquet_dir(con, parquet_dir)
    written: list[Path] = []
    try:
        for name, df in tables.items():
            # a fresh cursor per table: a write can leave its cursor's last result open, and DuckDB
            # then refuses new work on that cursor
            cur = con.cursor()
            try:
                if df is None:
                    store.drop_table(cur, name, directory)
                else:
                    target = store.write_table(cur, name, df, directory)
                    if target is not None:
                        written.append(target)
            finally:
                cur.close()
    finally:
        # even after a failed write, so the package describes whatever tables are there now
        if directory is not None:
            cur = con.cursor()
            try:
                write_datapackage(cur, directory)
            finally:
                cur.close()
    return written
