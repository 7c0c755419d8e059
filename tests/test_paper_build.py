"""The paper compiles from generated files, and two different datasets give different numbers
(proof that no number in the paper is typed by hand)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("figures")


def _build(db: Path) -> Path:
    """`fwbench figures` and `fwbench paper` from an ingested + analyzed synthetic dataset into its folder's build/."""
    build = db.parent / "build"
    for args in (["figures", "--db", str(db), "--out", str(build / "figures"), "--html", str(build / "report.html")],
                 ["paper", "--db", str(db), "--build", str(build)]):
        proc = subprocess.run([sys.executable, "-m", "fwbench.cli", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    return build


@pytest.fixture(scope="module")
def builds(figures_db) -> dict[str, Path]:
    return {name: _build(figures_db(name)) for name in ("A", "B")}  # helpers.figures_data via conftest.py


def test_paper_compiles(builds: dict[str, Path]) -> None:
    for build in builds.values():
        pdf = build / "paper.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
        assert (build / "report.html").stat().st_size > 0


def test_numbers_differ_between_datasets(builds: dict[str, Path]) -> None:
    a, b = (json.loads((builds[n] / "generated" / "numbers.json").read_text()) for n in ("A", "B"))
    assert a["speed"]["speed_sentence"] != b["speed"]["speed_sentence"]
    assert a["fastest"] != b["fastest"]
    # planted effects come back out: A has torch faster, B TensorFlow faster
    assert float(a["speed"]["speed_min"]) > 1 > float(b["speed"]["speed_max"])
    ta, tb = (json.loads((builds[n] / "generated" / "tables.json").read_text()) for n in ("A", "B"))
    assert ta["results"]["rows"] != tb["results"]["rows"]
    # the accuracy track's planted result: A equal accuracies, B a 5-point gap (C08)
    assert (a["accuracy"]["verdict"], b["accuracy"]["verdict"]) == ("supported", "contradicted")
    assert a["accuracy"]["accuracy_sentence"] != b["accuracy"]["accuracy_sentence"]
    assert ta["claims"]["rows"] and [r[-2] for r in ta["claims"]["rows"]] != [r[-2] for r in tb["claims"]["rows"]]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_pdf_text_carries_the_generated_numbers(builds: dict[str, Path]) -> None:
    texts = {}
    for name, build in builds.items():
        proc = subprocess.run(["pdftotext", "-layout", str(build / "paper.pdf"), "-"], capture_output=True, text=True)
        texts[name] = " ".join(proc.stdout.split())
        numbers = json.loads((build / "generated" / "numbers.json").read_text())
        assert f"holds {numbers['dataset']['n_runs']} runs" in texts[name]
        assert numbers["speed"]["speed_min"] in texts[name]
    assert texts["A"] != texts["B"]


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    from fwbench.figures.data import FigureData
    from fwbench.report.paper import build_paper

    with pytest.raises(FileNotFoundError, match="fwbench figures"):
        build_paper(FigureData(), tmp_path / "build")


def test_two_builds_from_the_same_runs_are_byte_identical(builds: dict[str, Path], figures_db,
                                                          tmp_path: Path) -> None:
    """Outputs are byte-stable: generated numbers and tables, figures and the PDF (whose date is the
    newest run's, not the clock's)."""
    first = builds["A"]
    again = tmp_path / "again"
    for args in (["figures", "--db", str(figures_db("A")), "--out", str(again / "figures"), "--html", ""],
                 ["paper", "--db", str(figures_db("A")), "--build", str(again)]):
        proc = subprocess.run([sys.executable, "-m", "fwbench.cli", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    for name in ("generated/numbers.json", "generated/tables.json", "paper.pdf"):
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    figures = sorted(p.relative_to(first / "figures") for p in (first / "figures").glob("*.svg"))
    assert figures and all((first / "figures" / f).read_bytes() == (again / "figures" / f).read_bytes()
                           for f in figures)
