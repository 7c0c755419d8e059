"""Shared chart vocabulary: the framework/mode palette, labels and the "no data" placeholder.

Every figure returns a `Figure` so an empty input becomes a labelled placeholder chart (and a note the
paper prints) rather than an exception or an empty SVG.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import polars as pl

from fwbench import constants as C
from fwbench.cells import implementation_name

FRAMEWORK_LABELS: dict[str, str] = {"torch": "PyTorch", "tensorflow": "TensorFlow", "jax": "JAX", "keras": "Keras 3"}
FRAMEWORK_COLORS: dict[str, str] = {"torch": "#d6604d", "tensorflow": "#4393c3", "jax": "#5aae61", "keras": "#9970ab"}


def fw_mode_name(framework: str, mode: str, backend: str = C.NATIVE_BACKEND) -> str:
    """The figures' colour key of an implementation: 'torch/eager', 'keras[jax]/jit'."""
    return f"{implementation_name(framework, backend)}/{mode}"


#: Every framework[/backend]/mode in a fixed order: the colour domain of all figures.
FW_MODES: tuple[str, ...] = tuple(fw_mode_name(fw, m, b) for fw in C.FRAMEWORKS for b in C.BACKENDS[fw]
                                  for m in C.MODES[fw])
_FW_MODE_BY_KEY: dict[str, str] = {f"{fw}/{b}/{m}": fw_mode_name(fw, m, b) for fw in C.FRAMEWORKS
                                   for b in C.BACKENDS[fw] for m in C.MODES[fw]}
#: One colour per framework/mode pair, shades of the framework colour (Keras: of its backend's hue family).
MODE_COLORS: dict[str, str] = dict(zip(FW_MODES, (
    "#b2182b", "#f4a582",             # torch eager, compile
    "#2166ac", "#67a9cf", "#a6cee3",  # tensorflow eager, function, xla
    "#1b7837", "#7fbf7b",             # jax eager, jit
    "#542788", "#998ec3",             # keras[tensorflow] eager, jit
    "#8c510a", "#d8b365",             # keras[jax] eager, jit
    "#c51b7d", "#f1b6da",             # keras[torch] eager, jit
), strict=True))
WIDTH = 160
HEIGHT = 140


@dataclass(frozen=True)
class Figure:
    """A chart plus whether it shows data; `note` says why not (printed in the paper instead)."""

    chart: alt.TopLevelMixin
    has_data: bool = True
    note: str = ""


def placeholder(title: str, reason: str) -> Figure:
    """A small chart that says there is nothing to show and why."""
    frame = pl.DataFrame({"text": [f"No data: {reason}"]})
    chart = (
        alt.Chart(frame, title=title)
        .mark_text(fontSize=13, color="#555555")
        .encode(text="text:N")
        .properties(width=420, height=60)
    )
    return Figure(chart=chart, has_data=False, note=reason)


def missing_columns(frame: pl.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c not in frame.columns]


def require(frame: pl.DataFrame, columns: list[str], table: str) -> str:
    """Why `frame` cannot be plotted ('' when it can): absent table, missing columns or no rows."""
    missing = missing_columns(frame, columns)
    if missing and not frame.columns:
        return f"table {table} is absent or empty"
    if missing:
        return f"table {table} lacks column(s) {', '.join(missing)}"
    if frame.height == 0:
        return f"table {table} has no rows"
    return ""


def field_name(tooltip: object) -> str:
    """The column a tooltip entry ("col:Q" or alt.Tooltip) reads, to drop entries for absent columns."""
    text = tooltip if isinstance(tooltip, str) else tooltip.shorthand  # type: ignore[attr-defined]
    return text.split(":")[0]


def standard(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of standard models run natively (no implementation variant, no exported runtime): the
    general figures label cells by model, size and phase, so a variant or runtime would stack onto its
    standard cell. Variants and runtimes have their own figures (ablation, runtimes). Comparison rows carry
    the runtime per side (runtime_a, runtime_b)."""
    for column, default in (("variant", C.STANDARD_VARIANT), ("runtime", C.NATIVE_RUNTIME),
                            ("runtime_a", C.NATIVE_RUNTIME), ("runtime_b", C.NATIVE_RUNTIME)):
        if column in frame.columns:
            frame = frame.filter(pl.col(column) == default)
    return frame


def with_fw_mode(frame: pl.DataFrame) -> pl.DataFrame:
    """Add 'fw_mode' = framework[backend]/mode (fw_mode_name), the colour key shared by all figures."""
    backend = pl.col("backend") if "backend" in frame.columns else pl.lit(C.NATIVE_BACKEND)
    key = pl.concat_str([pl.col("framework"), backend, pl.col("mode")], separator="/")
    return frame.with_columns(fw_mode=key.replace_strict(_FW_MODE_BY_KEY, return_dtype=pl.String))


def fw_mode_color(frame: pl.DataFrame, title: str = "framework / mode") -> alt.Color:
    present = [v for v in FW_MODES if v in set(frame["fw_mode"].to_list())]
    return alt.Color(
        "fw_mode:N",
        title=title,
        scale=alt.Scale(domain=present, range=[MODE_COLORS[v] for v in present]),
        legend=alt.Legend(orient="bottom", columns=min(5, max(1, len(present)))),
    )


def cell_label(frame: pl.DataFrame, fields: list[str], name: str = "cell") -> pl.DataFrame:
    """Add a readable label joining the given cell fields, e.g. 'cnn tiny · train · b32'."""
    parts = []
    for f in fields:
        if f not in frame.columns:
            continue
        if f == "batch_size":
            parts.append(pl.lit("b") + pl.col(f).cast(pl.Utf8))
        elif f == "threads":
            parts.append(pl.col(f).cast(pl.Utf8) + pl.lit("t"))
        elif f == "seq_len":
            parts.append(pl.lit("L") + pl.col(f).cast(pl.Utf8))
        else:
            parts.append(pl.col(f).cast(pl.Utf8))
    return frame.with_columns(pl.concat_str(parts, separator=" · ").alias(name))


def with_jitter(frame: pl.DataFrame, within: list[str], order: str = "run_id", width: float = 12.0) -> pl.DataFrame:
    """Add 'jitter': an x offset that spreads the points of each `within` group evenly over `width`
    pixels in `order` order. Computed here rather than with Vega's random(), which would make every
    render (SVG, PNG, the paper's PDF) differ from the last one for the same data."""
    rank = pl.col(order).rank("ordinal").over(within)
    return frame.with_columns(jitter=((rank - 0.5) / pl.len().over(within) - 0.5) * width)


def varying(frame: pl.DataFrame, fields: list[str], within: list[str] | None = None) -> list[str]:
    """The fields that take more than one value (within some group of `within`): worth a label."""
    present = [f for f in fields if f in frame.columns]
    if not present or frame.height == 0:
        return []
    if not within:
        return [f for f in present if frame[f].n_unique() > 1]
    counts = frame.group_by(within).agg([pl.col(f).n_unique() for f in present])
    return [f for f in present if counts[f].max() > 1]


POOLED = "pooled"  # fwbench.stats writes every statistic per system_id and once pooled over systems


def main_scope(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of the scope a figure shows: the only host when there is one, else the pooled rows."""
    if "system_id" not in frame.columns or frame.height == 0:
        return frame
    hosts = [s for s in frame["system_id"].unique().to_list() if s != POOLED]
    if len(hosts) == 1:
        return frame.filter(pl.col("system_id") == hosts[0])
    pooled = frame.filter(pl.col("system_id") == POOLED)
    return pooled if pooled.height else frame


def per_host(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of single hosts (the pooled scope dropped)."""
    return frame.filter(pl.col("system_id") != POOLED) if "system_id" in frame.columns else frame
