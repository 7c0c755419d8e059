"""`fwbench paper`: generated numbers and tables, then paper/build/paper.pdf (figures come from `fwbench figures`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fwbench.options import add_db_option
from fwbench.paths import PAPER_BUILD_DIR, PAPER_DIR


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "paper", help="write the paper's generated numbers/tables and compile paper/build/paper.pdf",
        description="Read the results database, write BUILD/generated/numbers.json and tables.json, and compile "
                    "PAPER/paper.typ with typst to BUILD/paper.pdf using the figures in BUILD/figures (rendered by "
                    "`fwbench figures`; --figures renders them first).")
    add_db_option(p)
    p.add_argument("--build", type=Path, default=PAPER_BUILD_DIR, help="build directory (default: %(default)s)")
    p.add_argument("--paper-dir", type=Path, default=PAPER_DIR, help="Typst source directory (default: %(default)s)")
    p.add_argument("--figures-dir", type=Path, default=None, help="rendered figures (default: BUILD/figures)")
    p.add_argument("--figures", action="store_true", help="render the figures (and report.html) first")
    p.set_defaults(func=_paper)


def _paper(args: argparse.Namespace) -> int:
    from fwbench.figures.data import FigureData
    from fwbench.report.paper import build_paper

    figures_dir = args.figures_dir or args.build / "figures"
    try:
        data = FigureData.from_db(args.db)
        if args.figures:
            from fwbench.figures.render import render_all
            from fwbench.report.html import write_html_report

            render_all(data, figures_dir)
            write_html_report(figures_dir, args.build / "report.html")
        result = build_paper(data, args.build, args.paper_dir, figures_dir)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"fwbench paper: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {result.numbers}, {result.tables} and {result.pdf}")
    return 0
