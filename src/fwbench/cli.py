"""The `fwbench` console command: one subcommand per stage, each registered by its own module.

Subcommand modules expose `register(subparsers)` and keep heavy imports (torch, tensorflow,
duckdb) inside their handlers, so `fwbench query` never pays for importing a framework.
Bad options exit with status 2 and a message naming the option and its allowed values.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# Each module registers one or more subcommands; add a line to add a stage.
COMMAND_MODULES: tuple[str, ...] = (
    "fwbench.harness.cli",
    "fwbench.dataset.cli",
    "fwbench.stats.cli",
    "fwbench.grid_cli",
    "fwbench.campaign_cli",
    "fwbench.figures.cli",
    "fwbench.report.cli",
    "fwbench.accuracy.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fwbench", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
