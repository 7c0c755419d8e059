"""The DuckDB file and its Parquet mirror: opening, creating tables and views, writing tables.

Other stages (stats) add their tables through `fwbench.dataset.publish.write_tables`, so every
table of the dataset has a Parquet copy next to the others and appears in datapackage.json. This
module knows nothing of datapackage.json (fwbench.dataset.metadata imports it, not the reverse).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl

from fwbench import paths
from fwbench.dataset.tables import TABLES, TABLES_BY_NAME

VIEWS_SQL = "views.sql"
# New database files are written in the storage format of DuckDB 1.5, so the duckdb CLI from PyPI
# (duckdb-cli 1.5.x; the 2.0 format is unreadable to it) opens the same file. The format is fixed
# when the file is created and kept by later connections.
STORAGE_COMPATIBILITY = "v1.5.0"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def views_path() -> Path:
    return paths.ANALYSIS_DIR / VIEWS_SQL


def connect(db_path: str | os.PathLike[str] | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the results database (default data/results.duckdb); a missing file is an error when read_only."""
    path = Path(db_path) if db_path is not None else paths.DB_PATH
    if read_only and not path.exists():
        raise FileNotFoundError(f"{path}: no results database; run `fwbench ingest` first")
    if not read_only and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_COMPATIBILITY}).close()
    return duckdb.connect(str(path), read_only=read_only)


def db_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind a connection (None for an in-memory database)."""
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    row = row[0] if row else None
    return Path(row[0]) if row and row[0] else None


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        con.execute(table.ddl())


def create_views(con: duckdb.DuckDBPyConnection, sql_path: str | os.PathLike[str] | None = None) -> None:
    """(Re)create the views of analysis/views.sql (every statement is CREATE OR REPLACE VIEW)."""
    con.execute(Path(sql_path or views_path()).read_text(encoding="utf-8"))


def table_names(con: duckdb.DuckDBPyConnection, kind: str = "BASE TABLE") -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_catalog = current_database() AND table_type = ? ORDER BY table_name", [kind]).fetchall()
    return [r[0] for r in rows]


def replace_dir(tmp: Path, target: Path) -> None:
    """Swap a freshly written directory into place so readers never see half a partition tree."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def export_table(con: duckdb.DuckDBPyConnection, name: str, parquet_dir: Path, query: str | None = None,
                 partition_by: tuple[str, ...] = ()) -> Path:
    """Write a table (or query) to parquet_dir/<name>.parquet, or a hive-partitioned parquet_dir/<name>/."""
    parquet_dir.mkdir(parents=True, exist_ok=True)
    source = query or f"SELECT * FROM {name}"
    if partition_by:
        target = parquet_dir / name
        tmp = parquet_dir / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        cols = ", ".join(partition_by)
        con.execute(f"COPY ({source}) TO '{tmp}' (FORMAT parquet, PARTITION_BY ({cols}), OVERWRITE)")
        tmp.mkdir(exist_ok=True)  # an empty table writes no directory
        replace_dir(tmp, target)
        return target
    target = parquet_dir / f"{name}.parquet"
    tmp = parquet_dir / f".{name}.parquet.tmp"
    con.execute(f"COPY ({source}) TO '{tmp}' (FORMAT parquet)")
    os.replace(tmp, target)
    return target


def write_table(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame,
                parquet_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Replace table `name` with df and write <parquet_dir>/<name>.parquet.

    parquet_dir defaults to the `parquet` directory next to the database file; for an in-memory
    database without parquet_dir only the table is written. Returns the Parquet path (or None).
    datapackage.json is not touched: callers go through fwbench.dataset.publish.write_tables,
    which refreshes it once after all of its tables are written.
    Tables owned by `fwbench ingest` (runs, steps, ...) are refused: they are rebuilt from raw records.
    """
    check_writable(name)
    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    arrow = df.to_arrow()
    con.register("_fwbench_write_table", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _fwbench_write_table")
    finally:
        con.unregister("_fwbench_write_table")
    directory = resolve_parquet_dir(con, parquet_dir)
    if directory is None:
        return None
    return export_table(con, name, directory)


def drop_table(con: duckdb.DuckDBPyConnection, name: str, parquet_dir: str | os.PathLike[str] | None = None) -> None:
    """Drop table `name` (if present) and its <parquet_dir>/<name>.parquet.

    The counterpart of write_table for results that no longer exist (e.g. no accuracy runs left),
    so neither the database nor the Parquet files keep a stale table (publish.write_tables then
    refreshes datapackage.json).
    """
    check_writable(name)
    con.execute(f"DROP TABLE IF EXISTS {name}")
    directory = resolve_parquet_dir(con, parquet_dir)
    if directory is None:
        return
    (directory / f"{name}.parquet").unlink(missing_ok=True)


def check_writable(name: str) -> None:
    """Refuse a name that is not a plain SQL identifier or that belongs to `fwbench ingest`."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"table name {name!r} is not a plain SQL identifier (letters, digits, _)")
    if name in TABLES_BY_NAME:
        raise ValueError(f"table {name!r} is owned by `fwbench ingest`; choose another name")


def resolve_parquet_dir(con: duckdb.DuckDBPyConnection, parquet_dir: str | os.PathLike[str] | None) -> Path | None:
    """parquet_dir, else the `parquet` directory next to the database file (None for in-memory)."""
    if parquet_dir is not None:
        return Path(parquet_dir)
    db = db_file(con)
    return None if db is None else paths.parquet_dir_for(db)
