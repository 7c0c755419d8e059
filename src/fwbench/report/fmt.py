"""Number formatting for the paper: one place decides digits, so text and tables agree."""

from __future__ import annotations

import math
from typing import Any


def is_num(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def num(x: object, digits: int = 3) -> str:
    """Significant-digit formatting with thousands separators; '–' for missing or non-finite."""
    if not is_num(x):
        return "–"
    v = float(x)  # type: ignore[arg-type]
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    decimals = max(0, digits - 1 - mag)
    return f"{v:,.{decimals}f}"


def ci(est: object, low: object, high: object, digits: int = 3) -> str:
    """'1.23 [1.10, 1.35]' (estimate and 95% CI); the estimate alone when the CI is missing."""
    if not is_num(low) or not is_num(high):
        return num(est, digits)
    return f"{num(est, digits)} [{num(low, digits)}, {num(high, digits)}]"


def pct(x: object, digits: int = 0) -> str:
    return "–" if not is_num(x) else f"{100 * float(x):.{digits}f}%"  # type: ignore[arg-type]


def speed_pct(ratio: object) -> str:
    """A speed ratio as '23% faster' / '5% slower'."""
    if not is_num(ratio):
        return "–"
    r = float(ratio)  # type: ignore[arg-type]
    return f"{100 * (r - 1):.0f}% faster" if r >= 1 else f"{100 * (1 - r):.0f}% slower"


def table(columns: list[str], rows: list[list[Any]], note: str = "") -> dict[str, Any]:
    """A generated table {columns, rows, note}: every cell a string (None -> "–"); the Typst source
    renders any such table with one function."""
    return {"columns": columns, "rows": [[("–" if v is None else str(v)) for v in r] for r in rows], "note": note}
