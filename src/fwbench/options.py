"""Command-line options and value types shared by the `fwbench` subcommands.

One definition each, so every subcommand words a bad value the same way (exit 2, the option,
the allowed values) and defaults to the same paths (fwbench.paths).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, TypeVar

from fwbench.paths import DB_PATH

N = TypeVar("N", int, float)


def _number_type(convert: Callable[[str], N], accepts: Callable[[N], bool], allowed: str) -> Callable[[str], N]:
    """argparse type: `convert` the text, then refuse a value `accepts` rejects, naming `allowed`."""
    kind = "integer" if convert is int else "number"

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind} {text!r}") from None
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"invalid value {text}; allowed: {allowed}")
        return value

    parse.__name__ = convert.__name__  # argparse names the type in its messages
    return parse


def int_type(minimum: int) -> Callable[[str], int]:
    """argparse type for an integer >= minimum."""
    allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    return _number_type(int, lambda value: value >= minimum, allowed)


def positive_float_type(allowed: str) -> Callable[[str], float]:
    """argparse type for a number > 0; `allowed` words the error (e.g. "a positive number of seconds")."""
    return _number_type(float, lambda value: value > 0, allowed)


positive_seconds = positive_float_type("a positive number of seconds")


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """`--db`, the results database, for every subcommand that reads or writes it."""
    parser.add_argument("--db", type=Path, default=DB_PATH, help="results database (default: %(default)s)")
