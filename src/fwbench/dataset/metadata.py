"""Frictionless Data Package (datapackage.json) describing the Parquet files of a build.

Written next to the Parquet files once per ingest and once per `fwbench.dataset.publish.write_tables`
call (how other stages, e.g. analyze, add their tables). Every resource describes one file as it is:
its fields are read from the file itself (name, order, type), its row count is stated, and its
descriptions come from fwbench.dataset.tables, or fwbench.dataset.analysis_tables for the tables
`fwbench analyze` adds (checksums are in the Croissant file: frictionless
cannot check the bytes of a Parquet file, which it reads through pyarrow). A
hive-partitioned table (runs/, steps/, accuracy_runs/) is one resource per partition file, since
the partition columns live in the directory names and not in the file; the resource names its
table and its partition values. Deterministic: same data, same bytes. Imports store; store never
imports this module.

Types are declared so the reference validator (frictionless 5, whose Parquet reader goes through
pandas) reads the files as written: a nullable integer column is `number` (pandas turns a missing
integer into a float NaN), a list column is `any` (pandas hands over numpy arrays, not JSON
arrays), and a VARCHAR holding JSON text is `object` or `array`, so its JSON is checked. The DuckDB
type of every field stays in `duckdb_type`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from fwbench.constants import SCHEMA_VERSION
from fwbench.dataset.analysis_tables import TABLE_DESCRIPTIONS, analysis_column
from fwbench.dataset.store import table_names
from fwbench.dataset.tables import TABLES_BY_NAME, Column, Table, describe
from fwbench.files import write_text_if_changed

PACKAGE_NAME = "fwbench-results"
DATAPACKAGE_FILE = "datapackage.json"
_FRICTIONLESS_TYPES = {
    "VARCHAR": "string", "INTEGER": "integer", "BIGINT": "integer", "SMALLINT": "integer", "TINYINT": "integer",
    "HUGEINT": "integer", "UBIGINT": "integer", "UINTEGER": "integer", "DOUBLE": "number", "FLOAT": "number",
    "BOOLEAN": "boolean", "TIMESTAMP": "datetime", "TIMESTAMP WITH TIME ZONE": "datetime", "DATE": "date",
}


@dataclass(frozen=True)
class ParquetFile:
    """One Parquet file of a table: the whole table, or one hive partition of it."""

    table: str
    relative_path: str  # to the package directory, POSIX
    partition: dict[str, str]  # partition column -> value, from the directory names; empty if unpartitioned

    @property
    def resource_name(self) -> str:
        return "-".join([self.table, *self.partition.values()]).lower()


def table_files(con: duckdb.DuckDBPyConnection, parquet_dir: Path) -> list[ParquetFile]:
    """The Parquet files of every table in the database that has them under parquet_dir."""
    files: list[ParquetFile] = []
    for name in table_names(con):
        single, tree = parquet_dir / f"{name}.parquet", parquet_dir / name
        if single.is_file():
            files.append(ParquetFile(name, single.name, {}))
        elif tree.is_dir():
            for path in sorted(tree.rglob("*.parquet")):
                relative = path.relative_to(parquet_dir)
                partition = dict(part.split("=", 1) for part in relative.parts[1:-1] if "=" in part)
                files.append(ParquetFile(name, relative.as_posix(), partition))
    return files


def frictionless_type(duck_type: str, column: Column | None) -> str:
    """The Table Schema type the validator accepts for this DuckDB type (see the module docstring)."""
    if column is not None and column.json:
        return column.json
    if duck_type.endswith("]"):
        return "any"
    if duck_type.startswith(("STRUCT", "MAP")):
        return "object"
    if duck_type.startswith("DECIMAL"):
        return "number"
    ftype = _FRICTIONLESS_TYPES.get(duck_type, "any")
    if ftype == "integer" and (column is None or column.nullable):
        return "number"
    return ftype


def known_column(table: str, name: str) -> Column | None:
    """The definition of a column; a partition column a table lacks (steps) is described as in `runs`."""
    known: Table | None = TABLES_BY_NAME.get(table)
    column = next((c for c in known.columns if c.name == name), None) if known else None
    if column is None and known is not None and name in known.partition_by:
        column = next((c for c in TABLES_BY_NAME["runs"].columns if c.name == name), None)
    return column


def _field(table: str, name: str, duck_type: str) -> dict[str, Any]:
    column = known_column(table, name)
    spec: dict[str, Any] = {"name": name, "type": frictionless_type(duck_type, column)}
    if column is not None:
        spec["description"] = describe(column)
        if column.unit:
            spec["unit"] = column.unit
        if not column.nullable:
            spec["constraints"] = {"required": True}
    elif (documented := analysis_column(table, name)) is not None:
        spec["description"] = documented.description
        if documented.unit:
            spec["unit"] = documented.unit
    spec["duckdb_type"] = duck_type
    return spec


def file_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the columns stored in one Parquet file, in file order (no hive columns)."""
    rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)", [str(path)]).fetchall()
    return [(row[0], row[1]) for row in rows]


def _resource(con: duckdb.DuckDBPyConnection, parquet_dir: Path, file: ParquetFile) -> dict[str, Any]:
    path = parquet_dir / file.relative_path
    known = TABLES_BY_NAME.get(file.table)
    fields = [_field(file.table, n, t) for n, t in file_columns(con, path)]
    schema: dict[str, Any] = {"fields": fields}
    names = {f["name"] for f in fields}
    if known and known.primary_key and set(known.primary_key) <= names:
        schema["primaryKey"] = list(known.primary_key)
    resource: dict[str, Any] = {
        "name": file.resource_name,
        "type": "table",
        "path": file.relative_path,
        "format": "parquet",
        "mediatype": "application/vnd.apache.parquet",
        "schema": schema,
        "rows": con.execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = false)",
                            [str(path)]).fetchall()[0][0],
    }
    description = known.description if known else TABLE_DESCRIPTIONS.get(file.table)
    if description:
        resource["description"] = description
    resource["table"] = file.table
    if file.partition:
        resource["partition"] = dict(file.partition)
    return resource


def build_datapackage(con: duckdb.DuckDBPyConnection, parquet_dir: Path) -> dict[str, Any]:
    resources = [_resource(con, parquet_dir, f) for f in table_files(con, parquet_dir)]
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": PACKAGE_NAME,
        "title": "fwbench: PyTorch vs TensorFlow benchmark runs",
        "description": "Process-level benchmark runs (one row per run), their step times, and the systems "
                       "they ran on; generated by `fwbench ingest` from raw run records "
                       f"(run schema_version {SCHEMA_VERSION}). One resource per Parquet file: a "
                       "hive-partitioned table (<table>/grid_name=<g>/system_id=<s>/*.parquet) has one "
                       "resource per partition, whose `table` and `partition` say what it holds. "
                       "See data/README.md for the data dictionary.",
        "resources": resources,
    }


def write_datapackage(con: duckdb.DuckDBPyConnection, parquet_dir: Path) -> Path:
    text = json.dumps(build_datapackage(con, parquet_dir), indent=2, sort_keys=False) + "\n"
    return write_text_if_changed(parquet_dir / DATAPACKAGE_FILE, text)
