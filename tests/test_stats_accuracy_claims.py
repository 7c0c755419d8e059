"""`fwbench analyze` with accuracy runs: the C08 verdict comes from the accuracy track (planted
equal accuracies -> supported, a planted 5-point gap -> contradicted) and its tables are written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from fwbench import dataset
from fwbench.synthetic.accuracy import write_accuracy_dataset
from fwbench.cli import main
from fwbench.stats.claims import load_claims
from fwbench.synthetic import base_cell, fake_system, write_dataset

ACCURACY_TABLES = ("accuracy_final", "accuracy_equivalence", "accuracy_time_to_target")


def _analyzed(root: Path, finals: dict[str, float] | None) -> Path:
    raw, db, out = root / "raw", root / "results.duckdb", root / "analysis"
    write_dataset(raw, {base_cell(): 60.0, base_cell(framework="tensorflow"): 50.0}, reps=3, seed=0,
                  transient_steps=4)
    write_dataset(raw, {base_cell(): 60.0}, reps=2, seed=1, system=fake_system("speed-only"))
    if finals is not None:
        write_accuracy_dataset(raw, finals, seeds=4)
    dataset.ingest(raw, db)
    assert main(["analyze", "--db", str(db), "--out-dir", str(out), "--resamples", "200"]) == 0
    return out


def _c08(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "claims.csv", infer_schema_length=None).filter(pl.col("claim_id") == "C08")


@pytest.mark.parametrize(("finals", "verdict"), [({"torch": 0.9, "tensorflow": 0.9}, "supported"),
                                                 ({"torch": 0.9, "tensorflow": 0.85}, "contradicted")])
def test_c08_verdict_from_accuracy_runs(tmp_path: Path, finals: dict[str, float], verdict: str) -> None:
    out = _analyzed(tmp_path, finals)
    c08 = _c08(out)
    pooled = c08.filter(pl.col("system_id") == "pooled").row(0, named=True)
    assert pooled["verdict"] == verdict, pooled["reason"]
    gap_pp = 100 * (finals["torch"] - finals["tensorflow"])
    assert pooled["effect"] == pytest.approx(gap_pp, abs=0.5)
    assert pooled["n_runs"] == 8 and pooled["claim"] == next(c.text for c in load_claims() if c.id == "C08")
    # claims-file order kept: C08 sits between its neighbours, per system then pooled
    ids = [r["claim_id"] for r in json.loads((out / "claims.json").read_text())]
    order = list(dict.fromkeys(ids))
    assert order == [c.id for c in load_claims()]
    assert c08["system_id"].to_list()[-1] == "pooled"
    speed_only = c08.filter(pl.col("system_id") == fake_system("speed-only")["system_id"]).row(0, named=True)
    assert speed_only["verdict"] == "not testable here" and "needs accuracy runs: none" in speed_only["reason"]
    for name in ACCURACY_TABLES:
        assert pl.read_parquet(out / f"{name}.parquet").height > 0
    eq = pl.read_parquet(out / "accuracy_equivalence.parquet").filter(pl.col("system_id") == "pooled")
    assert eq["verdict"].to_list() == [verdict]


def test_without_accuracy_runs_c08_is_not_testable(tmp_path: Path) -> None:
    out = _analyzed(tmp_path, None)
    rows = _c08(out)
    assert set(rows["verdict"]) == {"not testable here"}
    assert rows["reason"].str.contains("accuracy runs").all()
    assert not any((out / f"{name}.parquet").exists() for name in ACCURACY_TABLES)


def test_accuracy_tables_whose_runs_are_gone_leave_no_trace(tmp_path: Path) -> None:
    out = _analyzed(tmp_path, {"torch": 0.9, "tensorflow": 0.9})
    db = tmp_path / "results.duckdb"
    described = {r["name"] for r in json.loads((out / "datapackage.json").read_text())["resources"]}
    assert set(ACCURACY_TABLES) <= described
    for record in write_accuracy_dataset(tmp_path / "elsewhere", {"torch": 0.9, "tensorflow": 0.9}, seeds=4):
        (tmp_path / "raw" / record.relative_to(tmp_path / "elsewhere")).unlink()
    dataset.ingest(tmp_path / "raw", db)
    assert main(["analyze", "--db", str(db), "--out-dir", str(out), "--resamples", "200"]) == 0
    described = {r["name"] for r in json.loads((out / "datapackage.json").read_text())["resources"]}
    assert not set(ACCURACY_TABLES) & described
    assert "claims" in described or "cell_stats" in described
    tables = set(dataset.load(db))
    assert not set(ACCURACY_TABLES) & tables
