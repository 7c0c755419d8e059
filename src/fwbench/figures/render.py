"""Render every registered figure to SVG, PNG and its Vega-Lite JSON with vl-convert (no browser).

Writes <out>/<id>.svg, <id>.png, <id>.vl.json and <out>/manifest.json (id, title, caption, whether it
shows data, the note when it does not); the paper and the HTML report read the manifest, not code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import altair as alt

from fwbench.figures.common import Figure
from fwbench.figures.data import FigureData
from fwbench.figures.registry import FigureSpec, load_registry
from fwbench.paths import FIGURES_REGISTRY
from fwbench.records import write_json_atomic

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RenderedFigure:
    id: str
    title: str
    caption: str
    in_paper: bool
    has_data: bool
    note: str
    files: dict[str, str]  # format -> file name inside the output directory


def build_figure(spec: FigureSpec, data: FigureData) -> Figure:
    """Call the figure's function; its result must be a Figure wrapping an Altair chart."""
    figure = spec.resolve()(data)
    if not isinstance(figure, Figure):
        raise TypeError(f"figure {spec.id}: {spec.function} returned {type(figure).__name__}, expected Figure")
    return figure


def vega_lite_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart as a Vega-Lite dict, validated against the schema Altair ships."""
    return chart.to_dict(validate=True)


def _write_bytes(path: Path, payload: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)


def render_spec(spec: dict[str, Any], out_dir: Path, fig_id: str, png_scale: float = 2.0) -> dict[str, str]:
    """Write one Vega-Lite spec as .vl.json, .svg and .png; returns format -> file name."""
    import vl_convert as vlc

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"vl.json": f"{fig_id}.vl.json", "svg": f"{fig_id}.svg", "png": f"{fig_id}.png"}
    write_json_atomic(out_dir / files["vl.json"], spec)
    svg = vlc.vegalite_to_svg(spec)
    if "<svg" not in svg:
        raise RuntimeError(f"figure {fig_id}: vl-convert returned no SVG")
    _write_bytes(out_dir / files["svg"], svg.encode("utf-8"))
    _write_bytes(out_dir / files["png"], vlc.vegalite_to_png(spec, scale=png_scale))
    return files


def render_all(data: FigureData, out_dir: str | Path, registry: str | Path = FIGURES_REGISTRY,
               only: list[str] | None = None) -> list[RenderedFigure]:
    """Build and render the registered figures (all, or the ids in `only`); writes manifest.json."""
    out = Path(out_dir)
    specs = load_registry(registry)
    if only:
        unknown = sorted(set(only) - {s.id for s in specs})
        if unknown:
            raise ValueError(f"unknown figure id(s) {', '.join(unknown)}; allowed: {', '.join(s.id for s in specs)}")
        specs = [s for s in specs if s.id in only]
    rendered = []
    for spec in specs:
        figure = build_figure(spec, data)
        files = render_spec(vega_lite_spec(figure.chart), out, spec.id)
        rendered.append(RenderedFigure(id=spec.id, title=spec.title, caption=spec.caption, in_paper=spec.in_paper,
                                       has_data=figure.has_data, note=figure.note, files=files))
    entries = [asdict(r) for r in rendered]
    if only and (out / MANIFEST).exists():  # keep the other figures' entries, in registry order
        fresh = {e["id"]: e for e in entries}
        entries = [fresh.pop(e["id"], e) for e in read_manifest(out)] + list(fresh.values())
    write_json_atomic(out / MANIFEST, {"figures": entries})
    return rendered


def read_manifest(out_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path}: no figure manifest; run `fwbench figures` first")
    return json.loads(path.read_text(encoding="utf-8"))["figures"]
