"""The accuracy figure builds a valid Vega-Lite spec from ingested synthetic accuracy records and a
placeholder without them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import polars as pl

from fwbench.synthetic.accuracy import write_accuracy_dataset
from fwbench.dataset import connect, ingest
from fwbench.figures.accuracy import accuracy, accuracy_bands
from fwbench.figures.data import FigureData
from fwbench.figures.render import vega_lite_spec


def test_accuracy_figure_from_ingested_records(tmp_path: Path) -> None:
    import vl_convert as vlc

    raw = tmp_path / "raw"
    write_accuracy_dataset(raw, {"torch": 0.9, "tensorflow": 0.85}, seeds=3)
    write_accuracy_dataset(raw, {"torch": 0.8, "tensorflow": 0.8}, seeds=3, model="lstm", seed=1)
    db = tmp_path / "results.duckdb"
    ingest(raw, db)
    con = connect(db, read_only=True)
    data = SimpleNamespace(**{t: con.sql(f"SELECT * FROM {t}").pl() for t in ("accuracy_runs", "accuracy_epochs")})
    con.close()
    bands = accuracy_bands(data.accuracy_runs, data.accuracy_epochs)
    assert bands.height == 2 * 2 * 4 and set(bands["n_seeds"]) == {3}
    assert (bands["low"] <= bands["median"]).all() and (bands["median"] <= bands["high"]).all()
    figure = accuracy(data)
    assert figure.has_data
    svg = vlc.vegalite_to_svg(vega_lite_spec(figure.chart))
    assert svg.lstrip().startswith("<svg") and len(svg) > 2000


def test_accuracy_figure_without_tables_is_a_placeholder() -> None:
    figure = accuracy(FigureData())
    assert not figure.has_data and "accuracy_runs" in figure.note
    empty = SimpleNamespace(accuracy_runs=pl.DataFrame(), accuracy_epochs=pl.DataFrame())
    assert not accuracy(empty).has_data
