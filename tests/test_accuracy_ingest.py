"""Ingest routes accuracy records (kind 'accuracy') into accuracy_runs and accuracy_epochs, next to
speed runs, and the C08 analysis on the ingested tables gives the planted verdict."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from fwbench.synthetic.accuracy import base_accuracy_cell, make_accuracy_record, write_accuracy_dataset
from fwbench.dataset import connect, ingest
from fwbench.dataset.tables import ACCURACY_EPOCHS, ACCURACY_RUNS, describe
from fwbench.records import write_json_atomic
from fwbench.stats.accuracy import equivalence_table, time_to_target_table
from fwbench.synthetic import base_cell, write_dataset


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    write_dataset(raw, {base_cell(): 10.0, base_cell(framework="tensorflow", mode="function"): 12.0}, reps=2)
    return raw


def _tables(db: Path) -> dict[str, pl.DataFrame]:
    con = connect(db, read_only=True)
    try:
        return {t: con.sql(f"SELECT * FROM {t}").pl() for t in ("runs", "accuracy_runs", "accuracy_epochs",
                                                                 "systems")}
    finally:
        con.close()


def test_accuracy_records_land_in_their_tables(raw: Path, tmp_path: Path) -> None:
    paths = write_accuracy_dataset(raw, {"torch": 0.9, "tensorflow": 0.9}, seeds=3)
    db = tmp_path / "out" / "results.duckdb"
    result = ingest(raw, db)
    assert result.counts["new"] == 4 + 6 and result.counts["invalid"] == 0
    t = _tables(db)
    assert t["runs"].height == 4 and set(t["runs"]["kind"]) == {"speed"}
    assert t["accuracy_runs"].columns == ACCURACY_RUNS.column_names
    assert t["accuracy_epochs"].columns == ACCURACY_EPOCHS.column_names
    assert t["accuracy_runs"].height == 6 and t["accuracy_epochs"].height == 6 * 4
    assert t["systems"]["n_runs"][0] == 10  # the fingerprint of accuracy runs counts too

    record = json.loads(paths[0].read_text())
    row = t["accuracy_runs"].filter(pl.col("run_id") == record["run_id"]).row(0, named=True)
    assert row["path"] == paths[0].relative_to(raw).as_posix()
    assert (row["framework"], row["model"], row["dataset"], row["seed"]) == ("torch", "cnn", "digits", 0)
    assert row["lr_schedule"] == "constant" and row["base_lr"] == record["cell"]["lr_schedule"]["base_lr"]
    assert row["final_val_accuracy"] == pytest.approx(record["final_val_accuracy"])
    assert row["n_epochs"] == 4 and row["best_val_accuracy"] == pytest.approx(max(
        e["val_accuracy"] for e in record["epochs"]))
    epochs = t["accuracy_epochs"].filter(pl.col("run_id") == record["run_id"]).sort("epoch")
    assert epochs["val_accuracy"].to_list() == [e["val_accuracy"] for e in record["epochs"]]
    assert epochs["elapsed_s"][-1] == pytest.approx(sum(e["wall_s"] for e in record["epochs"]))
    assert list((db.parent / "parquet" / "accuracy_runs").rglob("*.parquet"))
    assert (db.parent / "parquet" / "accuracy_epochs.parquet").is_file()
    package = json.loads((db.parent / "parquet" / "datapackage.json").read_text())
    assert {"accuracy_runs", "accuracy_epochs"} <= {r["table"] for r in package["resources"]}
    assert "Validation accuracy after the last epoch" in describe(ACCURACY_RUNS.columns[
        ACCURACY_RUNS.column_names.index("final_val_accuracy")])
    assert "Validation accuracy after the epoch" in describe(ACCURACY_EPOCHS.columns[
        ACCURACY_EPOCHS.column_names.index("val_accuracy")])

    again = ingest(raw, db)  # incremental: nothing changes
    assert again.counts["unchanged"] == 10 and _tables(db)["accuracy_epochs"].height == 24
    paths[0].unlink()
    ingest(raw, db)
    t = _tables(db)
    assert t["accuracy_runs"].height == 5 and t["accuracy_epochs"].height == 20


def test_invalid_accuracy_record_is_reported_with_its_field(raw: Path, tmp_path: Path) -> None:
    cell = base_accuracy_cell()
    bad = make_accuracy_record(cell, final_accuracy=0.9)
    bad["epochs"][0]["val_accuracy"] = 1.5
    write_json_atomic(raw / "synthetic" / "x" / "bad1.json", bad)
    wrong_cell = make_accuracy_record(cell, final_accuracy=0.9)
    wrong_cell["cell"]["dataset"] = "periodic"
    write_json_atomic(raw / "synthetic" / "x" / "bad2.json", wrong_cell)
    result = ingest(raw, tmp_path / "results.duckdb")
    problems = {p.path.rsplit("/", 1)[-1]: p for p in result.invalid}
    assert problems["bad1.json"].field == "epochs.0.val_accuracy"
    assert problems["bad2.json"].field == "cell.dataset" and "digits" in problems["bad2.json"].message
    assert _tables(tmp_path / "results.duckdb")["accuracy_runs"].height == 0


@pytest.mark.parametrize(("finals", "verdict"), [({"torch": 0.9, "tensorflow": 0.9}, "supported"),
                                                 ({"torch": 0.9, "tensorflow": 0.85}, "contradicted")])
def test_the_ingested_tables_give_the_planted_equivalence(raw: Path, tmp_path: Path, finals, verdict) -> None:
    write_accuracy_dataset(raw, finals, seeds=5)
    db = tmp_path / "results.duckdb"
    ingest(raw, db)
    t = _tables(db)
    equivalence = equivalence_table(t["accuracy_runs"])
    assert set(equivalence["verdict"]) == {verdict}, equivalence.to_dicts()
    table = time_to_target_table(t["accuracy_runs"], t["accuracy_epochs"], n_resamples=200)
    assert set(table["framework"]) == {"torch", "tensorflow"} and all(table["n_reached"] == 5)


def test_database_with_accuracy_tables_opens_in_duckdb(raw: Path, tmp_path: Path) -> None:
    write_accuracy_dataset(raw, {"torch": 0.9}, seeds=1)
    db = tmp_path / "results.duckdb"
    ingest(raw, db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM accuracy_epochs").fetchone()[0] == 4
    con.close()
