"""`fwbench analyze` end to end: synthetic raw runs -> ingest -> every analysis table written."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest

from fwbench import dataset
from fwbench.cli import main
from fwbench.stats.claims import load_claims
from fwbench.synthetic import base_cell, fake_system, write_dataset

TABLES = ("steady_state", "cell_stats", "comparisons", "claims", "outliers")


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    root = tmp_path_factory.mktemp("analyze")
    cells = {base_cell(): 70.0, base_cell(framework="tensorflow"): 50.0,
             base_cell(framework="tensorflow", mode="xla"): 45.0,
             base_cell(phase="infer"): 20.0, base_cell(framework="tensorflow", phase="infer"): 22.0}
    for i, host in enumerate(("host-a", "host-b")):
        write_dataset(root / "raw", cells, reps=4, seed=i, system=fake_system(host), transient_steps=5)
    write_dataset(root / "raw", {base_cell(model="lstm", size="tiny", seq_len=64): 30.0}, reps=2, seed=9,
                  system=fake_system("host-a"), status="failed")
    db = root / "results.duckdb"
    dataset.ingest(root / "raw", db)
    code = main(["analyze", "--db", str(db), "--out-dir", str(root / "analysis"), "--resamples", "200"])
    return code, db, root / "analysis"


def test_writes_every_table(analyzed: tuple) -> None:
    code, db, out = analyzed
    assert code == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(TABLES) <= names
        n_claims = con.execute("SELECT count(*) FROM claims").fetchone()[0]
        per_claim = con.execute("SELECT count(DISTINCT claim_id) FROM claims").fetchone()[0]
    finally:
        con.close()
    assert per_claim == len(load_claims())
    assert n_claims == per_claim * 3  # host-a, host-b, pooled
    for name in TABLES:
        assert (out / f"{name}.parquet").exists()
    rows = json.loads((out / "claims.json").read_text())
    assert len(rows) == n_claims and {"claim_id", "verdict", "reason", "threshold"} <= set(rows[0])
    assert pl.read_csv(out / "claims.csv").height == n_claims


def test_failed_runs_are_reported_not_dropped(analyzed: tuple) -> None:
    _, db, out = analyzed
    steady = pl.read_parquet(out / "steady_state.parquet")
    failed = steady.filter(pl.col("status") == "failed")
    assert failed.height == 2 and not failed["ok"].any() and failed["reason"].str.starts_with("status failed").all()
    cells = pl.read_parquet(out / "cell_stats.parquet").filter(pl.col("model") == "lstm")
    assert cells["n_failed"].to_list() == [2, 2]  # host-a and pooled
    assert cells["step_ms_median"].is_nan().all() and cells["step_ms_n"].to_list() == [0, 0]


def test_bad_claims_file_is_a_clear_error(tmp_path, analyzed: tuple, capsys: pytest.CaptureFixture) -> None:
    _, db, _ = analyzed
    bad = tmp_path / "claims.yaml"
    bad.write_text("claims:\n  - id: X1\n    text: t\n    source: s\n    tests: t\n    metric: speed\n")
    assert main(["analyze", "--db", str(db), "--out-dir", str(tmp_path), "--claims", str(bad)]) == 2
    assert "claim X1: field 'metric'" in capsys.readouterr().err


def test_missing_database_is_a_clear_error(tmp_path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", "--db", str(tmp_path / "none.duckdb"), "--out-dir", str(tmp_path)]) == 2
    assert "run `fwbench ingest` first" in capsys.readouterr().err
