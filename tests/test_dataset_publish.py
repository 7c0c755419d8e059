"""Tables other stages add (fwbench.dataset.write_tables): one datapackage.json refresh per call,
and the package lists exactly the tables present afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import fwbench.dataset as fwdataset
from fwbench.dataset import publish
from fwbench.stats.analyze import Analysis, write_analysis


@pytest.fixture
def refreshes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The directories datapackage.json was written to (the real writer still runs)."""
    calls: list[Path] = []
    real = publish.write_datapackage

    def counting(con, parquet_dir: Path) -> Path:
        calls.append(Path(parquet_dir))
        return real(con, parquet_dir)

    monkeypatch.setattr(publish, "write_datapackage", counting)
    return calls


def described(parquet_dir: Path) -> set[str]:
    package = json.loads((parquet_dir / "datapackage.json").read_text(encoding="utf-8"))
    return {r["name"] for r in package["resources"]}


def frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({"x": list(range(n))})


def test_write_tables_refreshes_the_package_once(tmp_path: Path, refreshes: list[Path]) -> None:
    con = fwdataset.connect(tmp_path / "results.duckdb")
    try:
        written = fwdataset.write_tables(con, {"first_table": frame(2), "second_table": frame(3), "gone": None})
        assert con.execute("SELECT count(*) FROM second_table").fetchall() == [(3,)]  # connection still usable
    finally:
        con.close()
    pq = tmp_path / "parquet"
    assert written == [pq / "first_table.parquet", pq / "second_table.parquet"]
    assert refreshes == [pq]
    assert described(pq) == {"first_table", "second_table"}


def test_dropping_a_table_removes_it_from_the_package(tmp_path: Path, refreshes: list[Path]) -> None:
    pq = tmp_path / "out"
    con = fwdataset.connect(tmp_path / "results.duckdb")
    try:
        fwdataset.write_tables(con, {"kept": frame(1), "dropped": frame(2)}, pq)
        assert described(pq) == {"kept", "dropped"}
        fwdataset.drop_table(con, "dropped", pq)  # the one-table form refreshes the package too
        assert not (pq / "dropped.parquet").exists()
        assert described(pq) == {"kept"}
        assert fwdataset.write_table(con, "third", frame(4), pq) == pq / "third.parquet"
        assert described(pq) == {"kept", "third"}
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    assert tables == {"kept", "third"}
    assert len(refreshes) == 3


def test_bad_names_are_refused_before_anything_is_written(tmp_path: Path, refreshes: list[Path]) -> None:
    con = fwdataset.connect(tmp_path / "results.duckdb")
    try:
        for bad in ("runs", "x; DROP TABLE y"):
            with pytest.raises(ValueError, match="owned by `fwbench ingest`|identifier"):
                fwdataset.write_tables(con, {"fine": frame(1), bad: frame(1)})
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'fine'").fetchall() == [(0,)]
    finally:
        con.close()
    assert refreshes == []


def test_in_memory_database_gets_tables_only(refreshes: list[Path]) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        assert fwdataset.write_tables(con, {"only_table": frame(2)}) == []
        assert fwdataset.write_table(con, "other_table", frame(1)) is None
        assert con.execute("SELECT count(*) FROM only_table").fetchall() == [(2,)]
    finally:
        con.close()
    assert refreshes == []


def test_write_analysis_refreshes_the_package_once(tmp_path: Path, refreshes: list[Path]) -> None:
    out = tmp_path / "analysis"
    db = tmp_path / "results.duckdb"
    con = fwdataset.connect(db)
    try:  # an accuracy table left from an earlier analysis that had accuracy runs
        fwdataset.write_table(con, "accuracy_final", frame(2), out)
    finally:
        con.close()
    refreshes.clear()
    claims = pl.DataFrame({"claim_id": ["C01"], "verdict": ["supported"], "effect": [float("nan")]})
    result = Analysis(steady_state=frame(3), cell_stats=frame(2), comparisons=frame(1), claims=claims,
                      outliers=frame(0))  # no accuracy runs: the accuracy tables are dropped
    paths = write_analysis(result, db, out)
    assert refreshes == [out]
    core = {"steady_state", "cell_stats", "comparisons", "claims", "outliers"}
    assert described(out) == core
    assert not (out / "accuracy_final.parquet").exists()
    assert {p.name for p in paths} == {f"{t}.parquet" for t in core} | {"claims.csv", "claims.json"}


def test_store_does_not_import_metadata() -> None:
    """metadata imports store; the reverse would be a cycle (publish joins the two)."""
    code = "import sys, fwbench.dataset.store; assert 'fwbench.dataset.metadata' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
