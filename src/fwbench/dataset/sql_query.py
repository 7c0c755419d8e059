"""`fwbench query "SQL"`: run SQL on the results database and print or save the answer.

The database is opened read-only, so a query never changes the dataset.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TextIO

import polars as pl

from fwbench.dataset import store

FORMATS: tuple[str, ...] = ("table", "csv", "json", "parquet")


def run_query(sql: str, db_path: str | os.PathLike[str] | None = None) -> pl.DataFrame:
    """The result of one SQL statement as a Polars DataFrame."""
    con = store.connect(db_path, read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def render(df: pl.DataFrame, fmt: str, max_rows: int = 100) -> str:
    """Text of a result in table, csv or json format."""
    if fmt == "table":
        # One line per row, no column wrapping: wide results scroll instead of breaking up.
        with pl.Config(tbl_rows=max_rows, tbl_cols=-1, fmt_str_lengths=200, tbl_width_chars=60_000,
                       tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
                       tbl_hide_dtype_separator=True):
            text = str(df)
        shown = min(df.height, max_rows)
        note = f"({df.height} rows" + (f", {shown} shown; --max-rows to see more)" if shown < df.height else ")")
        return f"{text}\n{note}\n"
    if fmt == "csv":
        return df.write_csv()
    if fmt == "json":
        buf = io.StringIO()
        df.write_json(buf)
        return buf.getvalue() + "\n"
    raise ValueError(f"format {fmt!r} has no text form; allowed: table, csv, json (parquet needs --out)")


def write_result(df: pl.DataFrame, fmt: str, out: str | os.PathLike[str] | None,
                 stream: TextIO | None = None, max_rows: int = 100) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    if fmt == "parquet":
        if out is None:
            raise ValueError("--format parquet writes a binary file: give --out FILE")
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        df.write_parquet(out)
        return
    text = render(df, fmt, max_rows)
    if out is None:
        (stream or sys.stdout).write(text)
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
