"""Every registered figure builds from a synthetic dataset (ingest -> analyze) to a valid Vega-Lite
spec and a non-empty SVG; empty inputs give placeholders; the registry names bad entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fwbench.figures.common import Figure
from fwbench.figures.data import FigureData
from fwbench.figures.registry import FigureRegistryError, load_registry
from fwbench.figures.render import build_figure, read_manifest, render_all, vega_lite_spec

pytestmark = pytest.mark.xdist_group("figures")
SPECS = load_registry()
#: Figures of campaigns against each other: the one-campaign synthetic dataset gives their placeholder
#: (tests/test_figures_predictions.py draws them from planted campaigns).
MULTI_CAMPAIGN = {"claim_forest": "campaign_claims"}


@pytest.fixture(scope="module")
def data(figures_db) -> FigureData:
    return FigureData.from_db(figures_db("A"))  # helpers.figures_data via conftest.py


def test_registry_lists_every_required_figure() -> None:
    ids = [s.id for s in SPECS]
    assert {"throughput", "forest", "traces", "first_step", "memory", "threads", "hosts"} <= set(ids)
    assert all(s.caption and s.title for s in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_figure_builds_valid_spec_with_data(spec, data: FigureData, tmp_path: Path) -> None:
    import vl_convert as vlc

    figure = build_figure(spec, data)
    assert isinstance(figure, Figure)
    if spec.id in MULTI_CAMPAIGN:
        assert not figure.has_data and MULTI_CAMPAIGN[spec.id] in figure.note
        return
    assert figure.has_data, f"{spec.id}: {figure.note}"
    vl = vega_lite_spec(figure.chart)  # validates against the Vega-Lite schema altair ships
    assert vl["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    rows = sum(len(v) for v in vl.get("datasets", {}).values())
    assert rows > 0
    svg = vlc.vegalite_to_svg(vl)
    assert svg.lstrip().startswith("<svg") and len(svg) > 2000


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_empty_data_gives_placeholder(spec) -> None:
    import vl_convert as vlc

    figure = build_figure(spec, FigureData())
    assert not figure.has_data and figure.note
    svg = vlc.vegalite_to_svg(vega_lite_spec(figure.chart))
    assert "No data" in svg


def test_single_host_and_single_thread_count_skip_cleanly(data: FigureData) -> None:
    import polars as pl

    one_host = FigureData(cell_stats=data.cell_stats.filter(pl.col("system_id") == data.runs["system_id"][0]))
    hosts = build_figure(next(s for s in SPECS if s.id == "hosts"), one_host)
    assert not hosts.has_data and "one host" in hosts.note
    one_count = FigureData(cell_stats=data.cell_stats.filter(pl.col("threads") == 2))
    threads = build_figure(next(s for s in SPECS if s.id == "threads"), one_count)
    assert not threads.has_data and "thread" in threads.note


def test_render_all_writes_files_and_manifest(data: FigureData, tmp_path: Path) -> None:
    rendered = render_all(data, tmp_path)
    manifest = read_manifest(tmp_path)
    assert [m["id"] for m in manifest] == [s.id for s in SPECS]
    for fig in rendered:
        for name in fig.files.values():
            assert (tmp_path / name).stat().st_size > 0
        assert (tmp_path / fig.files["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        json.loads((tmp_path / fig.files["vl.json"]).read_text())
    render_all(data, tmp_path, only=["memory"])  # a partial render keeps the other entries
    assert [m["id"] for m in read_manifest(tmp_path)] == [s.id for s in SPECS]


def test_html_report_is_self_contained(data: FigureData, tmp_path: Path) -> None:
    import re

    from fwbench.report.html import write_html_report

    render_all(data, tmp_path / "figs")
    html = write_html_report(tmp_path / "figs", tmp_path / "report.html").read_text()
    assert "vegaEmbed" in html and 'id="filter-model"' in html
    assert not re.search(r"<script[^>]+src=", html), "scripts must be inline"
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    for spec in SPECS:
        assert f'id="vis-{spec.id}"' in html


@pytest.mark.parametrize("entry, field", [
    ({"id": "x", "function": "throughput:throughput", "title": "t"}, "caption"),
    ({"id": "Bad-Id", "function": "throughput:throughput", "title": "t", "caption": "c"}, "id"),
    ({"id": "x", "function": "nocolon", "title": "t", "caption": "c"}, "function"),
    ({"id": "x", "function": "a:b", "title": "t", "caption": "c", "colour": 1}, "colour"),
])
def test_registry_errors_name_the_field(entry: dict, field: str, tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "figures.yaml"
    path.write_text(yaml.safe_dump({"figures": [entry]}))
    with pytest.raises(FigureRegistryError, match=field):
        load_registry(path)


def test_unknown_function_is_named(tmp_path: Path) -> None:
    path = tmp_path / "figures.yaml"
    path.write_text("figures:\n  - {id: x, function: 'throughput:nope', title: t, caption: c}\n")
    with pytest.raises(FigureRegistryError, match="throughput:nope"):
        build_figure(load_registry(path)[0], FigureData())
