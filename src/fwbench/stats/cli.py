"""`fwbench analyze`: statistics and claim verdicts from the results database."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fwbench.options import add_db_option
from fwbench import constants as C

if TYPE_CHECKING:  # polars is imported by the handler only: `fwbench --help` stays quick
    import polars as pl
from fwbench.paths import ANALYSIS_OUT_DIR, CLAIMS_FILE


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze", help="steady state, cell stats, comparisons, outliers and claim verdicts",
        description="Read runs and steps (and accuracy_runs/accuracy_epochs, if ingested) from the results "
                    "database; write the tables steady_state, cell_stats, comparisons, claims and outliers "
                    "(and accuracy_final, accuracy_equivalence, accuracy_time_to_target) to it and as "
                    "Parquet, plus claims.json/claims.csv, to --out-dir.")
    add_db_option(p)
    p.add_argument("--out-dir", type=Path, default=ANALYSIS_OUT_DIR, help="output directory (default: %(default)s)")
    p.add_argument("--claims", type=Path, default=CLAIMS_FILE, help="claims file (default: %(default)s)")
    p.add_argument("--seed", type=int, default=C.BOOTSTRAP_SEED, help="bootstrap seed (default: %(default)s)")
    p.add_argument("--resamples", type=int, default=C.BOOTSTRAP_RESAMPLES, help="bootstrap resamples (default: %(default)s)")
    p.add_argument("--margin", type=float, default=C.EQUIVALENCE_MARGIN,
                   help="equivalence margin of the per-comparison TOST, as a fraction (default: %(default)s)")
    p.set_defaults(func=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    import sys

    from fwbench.stats.analyze import analyze, load_inputs, write_analysis
    from fwbench.stats.claims import ClaimError, load_claims

    if args.resamples < C.MIN_BOOTSTRAP_RESAMPLES:
        print(f"fwbench analyze: --resamples={args.resamples}; allowed: an integer >= {C.MIN_BOOTSTRAP_RESAMPLES}",
              file=sys.stderr)
        return 2
    if not args.db.exists():
        print(f"fwbench analyze: {args.db}: no results database; run `fwbench ingest` first", file=sys.stderr)
        return 2
    try:
        claims = load_claims(args.claims)
    except ClaimError as exc:
        print(f"fwbench analyze: {exc}", file=sys.stderr)
        return 2
    frames = load_inputs(args.db)
    result = analyze(frames["runs"], frames["steps"], claims, accuracy_runs=frames["accuracy_runs"],
                     accuracy_epochs=frames["accuracy_epochs"], seed=args.seed, n_resamples=args.resamples,
                     margin=args.margin)
    write_analysis(result, args.db, args.out_dir)
    counts = result.claims.group_by("verdict").len().sort("verdict").iter_rows()
    steady = result.steady_state
    excluded = steady.filter(~steady.get_column("ok").fill_null(False)).height
    flagged = steady.filter(steady.get_column("ok").fill_null(False) & ~steady.get_column("stationary")).height
    print(f"analyzed {steady.height} runs ({excluded} excluded: not ok or too few steps; {flagged} non-stationary, "
          f"kept with their all-steps median), "
          f"{result.cell_stats.height} cell rows, {result.comparisons.height} comparisons, "
          f"{result.outliers.height} outliers, {frames['accuracy_runs'].height} accuracy runs, "
          f"{_flagged(result.machine_flags)}; claims: " + ", ".join(f"{v} {n}" for v, n in counts)
          + f"; wrote {args.out_dir}")
    return 0


def _flagged(flags: "pl.DataFrame") -> str:
    """'3 of 140 runs flagged by canary or steal' (or that no run recorded the machine's state)."""
    if flags.height == 0:
        return "no run recorded a canary"
    return f"{flags.filter(flags['flagged']).height} of {flags.height} runs flagged by canary or steal"
