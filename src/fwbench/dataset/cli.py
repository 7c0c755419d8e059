"""`fwbench ingest` and `fwbench query`; duckdb and polars are imported inside the handlers."""

from __future__ import annotations

import argparse
import sys

from fwbench import paths
from fwbench.options import add_db_option


def register(subparsers: argparse._SubParsersAction) -> None:
    ingest = subparsers.add_parser(
        "ingest", help="raw run records -> data/results.duckdb + data/parquet (incremental)",
        description="Validate raw run records and bring the DuckDB tables, views, Parquet files, "
                    "datapackage.json and data dictionary in line with them. Invalid records are "
                    "listed on stderr and in the ingest_report table.")
    ingest.add_argument("--raw", default=None, help="raw run directory (default: data/raw)")
    add_db_option(ingest)
    ingest.add_argument("--parquet", default=None, help="Parquet directory (default: parquet/ next to --db)")
    ingest.add_argument("--dictionary", default=None, help="data dictionary file (default: README.md next to --db)")
    ingest.add_argument("--strict", action="store_true", help="exit with status 1 if any record is invalid")
    ingest.set_defaults(func=_ingest)

    query = subparsers.add_parser(
        "query", help="run SQL on data/results.duckdb (read-only)",
        description="Run one SQL statement on the results database; tables: runs, steps, systems, "
                    "run_systems, ingest_report; views: run_summary, cell_summary, framework_pairs, "
                    "invalid_records (see data/README.md).")
    query.add_argument("sql", help="the SQL statement")
    add_db_option(query)
    query.add_argument("--format", default="table", choices=("table", "csv", "json", "parquet"),
                       help="output format (default: table; parquet needs --out)")
    query.add_argument("--out", default=None, help="write to FILE instead of stdout")
    query.add_argument("--max-rows", type=int, default=100, help="rows shown in table format (default: 100)")
    query.set_defaults(func=_query)

    croissant = subparsers.add_parser(
        "croissant", help="data/parquet + data/analysis -> data/croissant.json (MLCommons Croissant)",
        description="Describe the dataset's tables in Croissant (record sets, fields, files with sha256, "
                    "license, citation), from the datapackage.json of both directories and CITATION.cff.")
    croissant.add_argument("--parquet", default=str(paths.PARQUET_DIR), help="Parquet directory of the runs "
                           "(default: data/parquet)")
    croissant.add_argument("--analysis", default=str(paths.ANALYSIS_OUT_DIR),
                           help="directory of the analysis tables (default: data/analysis)")
    croissant.add_argument("--out", default=str(paths.CROISSANT_PATH),
                           help="output file (default: data/croissant.json)")
    croissant.set_defaults(func=_croissant)


def _ingest(args: argparse.Namespace) -> int:
    from fwbench.dataset.ingestion import ingest

    try:
        result = ingest(args.raw, args.db, args.parquet, dictionary=args.dictionary)
    except FileNotFoundError as exc:
        print(f"fwbench ingest: {exc}", file=sys.stderr)
        return 2
    for problem in result.invalid:
        print(f"invalid record: {problem}", file=sys.stderr)
    print(result.summary())
    return 1 if args.strict and result.invalid else 0


def _query(args: argparse.Namespace) -> int:
    import duckdb

    from fwbench.dataset.sql_query import run_query, write_result

    if args.format == "parquet" and args.out is None:
        print("fwbench query: --format parquet writes a binary file: give --out FILE", file=sys.stderr)
        return 2
    try:
        df = run_query(args.sql, args.db)
    except FileNotFoundError as exc:
        print(f"fwbench query: {exc}", file=sys.stderr)
        return 2
    except duckdb.Error as exc:  # bad SQL (syntax, unknown name, a write on the read-only db): bad input
        print(f"fwbench query: SQL error: {exc}", file=sys.stderr)
        return 2
    write_result(df, args.format, args.out, max_rows=args.max_rows)
    return 0


def _croissant(args: argparse.Namespace) -> int:
    from fwbench.dataset.croissant import write_croissant

    try:
        target = write_croissant(args.parquet, args.analysis, args.out)
    except FileNotFoundError as exc:
        print(f"fwbench croissant: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {target}")
    return 0
