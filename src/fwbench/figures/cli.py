"""`fwbench figures`: render every figure of analysis/figures.yaml and the interactive HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fwbench.options import add_db_option
from fwbench.paths import FIGURES_DIR, FIGURES_REGISTRY, REPORT_HTML


def _path_or_none(text: str) -> Path | None:
    """'' means 'no report' (Path('') would be the current directory)."""
    return Path(text) if text else None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "figures", help="render the figures (SVG, PNG, Vega-Lite JSON) and the interactive HTML report",
        description="Read the results database (tables of `fwbench ingest` and `fwbench analyze`) and render "
                    "every figure listed in analysis/figures.yaml to OUT/<id>.svg|png|vl.json plus "
                    "OUT/manifest.json, then the self-contained HTML report. A figure without data renders a "
                    "'no data' placeholder.")
    add_db_option(p)
    p.add_argument("--out", type=Path, default=FIGURES_DIR, help="figure directory (default: %(default)s)")
    p.add_argument("--html", type=_path_or_none, default=REPORT_HTML,
                   help="interactive HTML report; '' to skip (default: %(default)s)")
    p.add_argument("--registry", type=Path, default=FIGURES_REGISTRY,
                   help="figure registry (default: %(default)s)")
    p.add_argument("--only", nargs="+", metavar="ID", help="render only these figure ids")
    p.set_defaults(func=_figures)


def _figures(args: argparse.Namespace) -> int:
    from fwbench.figures.data import FigureData
    from fwbench.figures.registry import FigureRegistryError
    from fwbench.figures.render import render_all

    try:
        data = FigureData.from_db(args.db)
        rendered = render_all(data, args.out, args.registry, only=args.only)
    except (FileNotFoundError, FigureRegistryError, ValueError) as exc:
        print(f"fwbench figures: {exc}", file=sys.stderr)
        return 2
    for fig in rendered:
        print(f"{fig.id}: {'ok' if fig.has_data else 'no data (' + fig.note + ')'}")
    if args.html is not None:
        from fwbench.report.html import write_html_report

        write_html_report(args.out, args.html)
        print(f"wrote {args.html}")
    print(f"wrote {len(rendered)} figures to {args.out}")
    return 0
