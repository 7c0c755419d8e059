"""Ingest of raw run records into DuckDB + Parquet: round trip, incremental re-ingest, invalid records."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fwbench.dataset import connect, ingest, load, write_table
from fwbench.dataset.dictionary import render
from fwbench.dataset.tables import RUNS, STEPS, SYSTEMS
from fwbench.records import write_json_atomic, write_record
from fwbench.synthetic import fake_system, make_record
from helpers.dataset import PLANTED, REPS, TF, TORCH, Dataset, read  # the `dataset` fixture: conftest.py


def snapshot(ds: Dataset) -> dict[str, list[tuple]]:
    return {t: ds.sql(f"SELECT * FROM {t} ORDER BY ALL") for t in ("runs", "steps", "systems", "run_systems")}


def test_ingest_counts_columns_and_round_trip(dataset: Dataset) -> None:
    result = dataset.ingest()
    n = len(PLANTED) * REPS
    assert result.counts == {"files": n, "new": n, "changed": 0, "removed": 0, "unchanged": 0, "invalid": 0}
    con = connect(dataset.db, read_only=True)
    runs = con.sql("SELECT * FROM runs").pl()
    steps = con.sql("SELECT * FROM steps").pl()
    systems = con.sql("SELECT * FROM systems").pl()
    con.close()
    assert runs.columns == RUNS.column_names and steps.columns == STEPS.column_names
    assert systems.columns == SYSTEMS.column_names
    assert runs.height == n and systems.height == 1

    path = dataset.paths[4]
    record = read(path)
    row = runs.filter(pl.col("run_id") == record["run_id"]).row(0, named=True)
    assert row["path"] == path.relative_to(dataset.raw).as_posix()
    for key, value in record["cell"].items():
        assert row[key] == value
    assert (row["grid_name"], row["grid_version"], row["system_id"]) == ("synthetic", "1", fake_system()["system_id"])
    assert row["cell_id"] == record["cell_id"] and row["repetition"] == record["repetition"]
    assert row["throughput"] == pytest.approx(record["throughput"])
    assert row["first_step_s"] == pytest.approx(record["timings"]["first_step_s"])
    assert row["peak_rss_above_import_mb"] == pytest.approx(record["memory"]["peak_rss_above_import_mb"])
    assert row["params"] == record["model_info"]["params"]
    assert row["median_step_ms"] == pytest.approx(statistics.median(record["steps"]["measured_ms"]))
    assert row["n_measured"] == len(record["steps"]["measured_ms"])
    assert row["torch_version"] == "2.13.0" and row["tensorflow_version"] == "2.21.0"
    assert row["started_at"].isoformat() == record["started_at"].removesuffix("+00:00")

    own = steps.filter(pl.col("run_id") == record["run_id"]).sort("phase", "step_index")
    assert own.filter(pl.col("phase") == "measured")["ms"].to_list() == record["steps"]["measured_ms"]
    assert own.filter(pl.col("phase") == "warmup")["ms"].to_list() == record["steps"]["warmup_ms"]
    assert own.filter(pl.col("phase") == "measured")["step_index"].to_list() == list(range(row["n_measured"]))
    assert json.loads(systems["packages"][0]) == fake_system()["packages"]
    assert systems["n_runs"][0] == n


def test_parquet_partitions_datapackage_and_dictionary(dataset: Dataset) -> None:
    dataset.ingest()
    runs_dir = dataset.parquet / "runs" / "grid_name=synthetic" / f"system_id={fake_system()['system_id']}"
    assert list(runs_dir.glob("*.parquet"))
    runs = pl.read_parquet(dataset.parquet / "runs" / "**" / "*.parquet", hive_partitioning=True)
    steps = pl.read_parquet(dataset.parquet / "steps" / "**" / "*.parquet", hive_partitioning=True)
    assert runs.height == len(dataset.paths) and set(runs["grid_name"]) == {"synthetic"}
    assert steps.height == dataset.sql("SELECT count(*) FROM steps")[0][0]

    package = json.loads((dataset.parquet / "datapackage.json").read_text())
    resources = {r["table"]: r for r in package["resources"]}  # one partition per partitioned table here
    assert {"runs", "steps", "systems", "ingest_report"} <= set(resources)
    assert resources["runs"]["name"] == f"runs-synthetic-{fake_system()['system_id']}".lower()
    fields = {f["name"]: f for f in resources["runs"]["schema"]["fields"]}
    assert fields["median_step_ms"]["unit"] == "ms" and fields["median_step_ms"]["type"] == "number"
    assert "Samples per second" in fields["throughput"]["description"]  # from the run schema
    assert resources["runs"]["schema"]["primaryKey"] == ["run_id"]
    assert resources["runs"]["rows"] == len(dataset.paths)
    assert resources["steps"]["partition"] == {"grid_name": "synthetic", "system_id": fake_system()["system_id"]}
    assert (dataset.parquet / resources["steps"]["path"]).is_file()

    readme = (dataset.db.parent / "README.md").read_text()
    assert "| `peak_rss_above_import_mb` | DOUBLE | MB |" in readme and "### `cell_summary`" in readme


def test_committed_data_dictionary_is_current() -> None:
    committed = Path(__file__).resolve().parents[1] / "data" / "README.md"
    assert committed.read_text(encoding="utf-8") == render(), "run `fwbench ingest` to regenerate data/README.md"


def test_reingest_changes_nothing(dataset: Dataset) -> None:
    dataset.ingest()
    before = snapshot(dataset)
    parquet_mtime = {p: p.stat().st_mtime_ns for p in (dataset.parquet / "runs").rglob("*.parquet")}
    result = dataset.ingest()
    assert result.counts["unchanged"] == len(dataset.paths) and result.new == result.changed == result.removed == 0
    assert not result.wrote_parquet
    assert snapshot(dataset) == before
    assert {p: p.stat().st_mtime_ns for p in (dataset.parquet / "runs").rglob("*.parquet")} == parquet_mtime
    assert dataset.sql("SELECT ingest_id, unchanged FROM ingest_report ORDER BY ingest_id") == [(1, 0), (2, 9)]


def test_changed_record_is_updated(dataset: Dataset) -> None:
    dataset.ingest()
    path = dataset.paths[0]
    record = read(path)
    record["steps"]["measured_ms"] = [7.0] * 4
    record["throughput"] = 1234.5
    write_record(path, record)
    result = dataset.ingest()
    assert (result.changed, result.unchanged, result.new) == (1, len(dataset.paths) - 1, 0)
    assert dataset.sql(f"SELECT throughput, median_step_ms, n_measured FROM runs WHERE run_id = '{record['run_id']}'") \
        == [(1234.5, 7.0, 4)]
    assert dataset.sql(f"SELECT count(*) FROM steps WHERE run_id = '{record['run_id']}' AND phase = 'measured'") \
        == [(4,)]
    assert dataset.sql("SELECT count(*) FROM runs") == [(len(dataset.paths),)]


def test_changed_run_id_replaces_the_old_row(dataset: Dataset) -> None:
    dataset.ingest()
    path = dataset.paths[0]
    record = read(path)
    old_id, record["run_id"] = record["run_id"], "f" * 32
    write_record(path, record)
    dataset.ingest()
    assert dataset.sql(f"SELECT count(*) FROM runs WHERE run_id = '{old_id}'") == [(0,)]
    assert dataset.sql(f"SELECT count(*) FROM steps WHERE run_id = '{old_id}'") == [(0,)]
    assert dataset.sql("SELECT path FROM runs WHERE run_id = 'ffffffffffffffffffffffffffffffff'") \
        == [(path.relative_to(dataset.raw).as_posix(),)]


def test_removed_record_disappears(dataset: Dataset) -> None:
    dataset.ingest()
    path = dataset.paths[-1]
    run_id = read(path)["run_id"]
    path.unlink()
    result = dataset.ingest()
    assert result.removed == 1 and result.wrote_parquet
    for table in ("runs", "steps", "run_systems"):
        assert dataset.sql(f"SELECT count(*) FROM {table} WHERE run_id = '{run_id}'") == [(0,)]
    assert dataset.sql("SELECT n_runs FROM systems") == [(len(dataset.paths) - 1,)]
    runs = pl.read_parquet(dataset.parquet / "runs" / "**" / "*.parquet", hive_partitioning=True)
    assert run_id not in runs["run_id"].to_list()


def test_invalid_record_is_reported_with_file_and_field(dataset: Dataset) -> None:
    path = dataset.paths[2]
    record = read(path)
    record["cell"]["framework"] = "mxnet"
    write_json_atomic(path, record)
    rel = path.relative_to(dataset.raw).as_posix()
    result = dataset.ingest()
    assert [(p.path, p.field) for p in result.invalid] == [(rel, "cell.framework")]
    assert "mxnet" in result.invalid[0].message
    assert dataset.sql(f"SELECT count(*) FROM runs WHERE run_id = '{record['run_id']}'") == [(0,)]
    assert dataset.sql("SELECT count(*) FROM runs") == [(len(dataset.paths) - 1,)]
    report = dataset.sql("SELECT invalid, new, invalid_records FROM ingest_report")
    assert report[0][0] == 1 and report[0][1] == len(dataset.paths)
    assert report[0][2][0]["path"] == rel and report[0][2][0]["field"] == "cell.framework"
    assert dataset.sql("SELECT path, field FROM invalid_records") == [(rel, "cell.framework")]

    again = dataset.ingest()  # still invalid: reported again, never silently dropped
    assert [(p.path, p.field) for p in again.invalid] == [(rel, "cell.framework")]
    record["cell"]["framework"] = "torch"
    write_json_atomic(path, record)
    fixed = dataset.ingest()
    assert fixed.invalid == [] and fixed.changed == 1
    assert dataset.sql(f"SELECT count(*) FROM runs WHERE run_id = '{record['run_id']}'") == [(1,)]
    assert dataset.sql("SELECT count(*) FROM invalid_records") == [(0,)]


@pytest.mark.parametrize("mutate, field", [
    (lambda r: r.update(status="exploded"), "status"),
    (lambda r: r["timings"].update(first_step_s=-1.0), "timings.first_step_s"),
    (lambda r: r.pop("memory"), "memory"),  # a missing field is named, not its parent
    (lambda r: r.update(started_at="yesterday"), "started_at"),
    (lambda r: r["cell"].update(mode="xla"), "cell.mode"),  # schema-valid, but torch has no xla mode
    (lambda r: r.update(cell_id="0" * 12), "cell_id"),
])
def test_invalid_fields_are_named(dataset: Dataset, mutate, field) -> None:
    record = read(dataset.paths[0])
    mutate(record)
    write_json_atomic(dataset.paths[0], record)
    result = dataset.ingest()
    assert [p.field for p in result.invalid] == [field]


def test_not_json_and_duplicate_run_id_are_reported(dataset: Dataset) -> None:
    dataset.paths[0].write_text("{not json")
    dup = dataset.raw / "synthetic" / "copy" / "rep-0.json"
    dup.parent.mkdir(parents=True)
    dup.write_bytes(dataset.paths[1].read_bytes())
    result = dataset.ingest()
    problems = {p.path: p for p in result.invalid}
    assert problems[dataset.paths[0].relative_to(dataset.raw).as_posix()].field == "<file>"
    # the copy sorts first, so the original is the duplicate: either way exactly one is kept
    assert sum(p.field == "run_id" and "duplicate run_id" in p.message for p in result.invalid) == 1
    assert dataset.sql("SELECT count(*) FROM runs") == [(len(dataset.paths) - 1,)]


def test_older_schema_version_is_refused(dataset: Dataset) -> None:
    record = read(dataset.paths[0])
    record["schema_version"] = 0
    write_json_atomic(dataset.paths[0], record)
    result = dataset.ingest()
    (problem,) = result.invalid
    assert problem.field == "schema_version"
    assert "schema_version=0 is not supported" in problem.message and "no migration" in problem.message
    assert dataset.sql(f"SELECT count(*) FROM runs WHERE run_id = '{record['run_id']}'") == [(0,)]


def test_failed_and_skipped_records_become_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    raw = tmp_path / "raw"
    for i, status in enumerate(("ok", "failed", "oom", "timeout", "skipped")):
        record = make_record(TORCH, rng=rng, median_ms=10.0, repetition=i, status=status,
                             grid={"name": "g", "version": "v1", "hash": "h"})
        write_record(raw / "g" / record["system"]["system_id"] / TORCH.cell_id / f"rep-{i}.json", record)
    adhoc = make_record(TF, rng=rng, median_ms=10.0, status="failed")  # grid null: an ad-hoc run
    write_record(raw / "adhoc" / adhoc["system"]["system_id"] / TF.cell_id / "rep-0.json", adhoc)
    db = tmp_path / "results.duckdb"
    result = ingest(raw, db)
    assert result.invalid == [] and result.new == 6
    con = connect(db, read_only=True)
    rows = con.execute("SELECT status, error, median_step_ms, n_measured FROM runs ORDER BY repetition, status").fetchall()
    assert {r[0] for r in rows} == {"ok", "failed", "oom", "timeout", "skipped"}
    for status, error, median, n in rows:
        if status != "ok":
            assert error == f"synthetic {status}" and median is None and n == 0
    assert con.execute("SELECT grid_name FROM runs WHERE framework = 'tensorflow'").fetchall() == [(None,)]
    con.close()


def test_load_gives_lazy_frames(dataset: Dataset) -> None:
    dataset.ingest()
    frames = load(dataset.db)
    assert {"runs", "steps", "systems", "ingest_report", "run_summary", "cell_summary"} <= set(frames)
    assert all(isinstance(f, pl.LazyFrame) for f in frames.values())
    assert frames["runs"].collect_schema()["median_step_ms"] == pl.Float64
    assert frames["runs"].select(pl.len()).collect().item() == len(dataset.paths)
    per_phase = frames["steps"].group_by("phase").len().collect()
    assert set(per_phase["phase"]) == {"warmup", "measured"}
    assert list(load(dataset.db, ["steps"])) == ["steps"]
    with pytest.raises(KeyError, match="no table or view nope"):
        load(dataset.db, ["nope"])


def test_write_table_adds_a_table_with_parquet(dataset: Dataset) -> None:
    dataset.ingest()
    con = connect(dataset.db)
    try:
        target = write_table(con, "cell_stats", pl.DataFrame({"cell_id": ["a", "b"], "median_ms": [1.0, 2.0]}))
        assert con.execute("SELECT sum(median_ms) FROM cell_stats").fetchone() == (3.0,)
        with pytest.raises(ValueError, match="owned by `fwbench ingest`"):
            write_table(con, "runs", pl.DataFrame({"x": [1]}))
        with pytest.raises(ValueError, match="identifier"):
            write_table(con, "x; DROP TABLE runs", pl.DataFrame({"x": [1]}))
        # loading from the same process while it holds the file open for writing works too
        assert load(dataset.db, ["cell_stats"])["cell_stats"].collect().height == 2
    finally:
        con.close()
    assert target == dataset.parquet / "cell_stats.parquet"
    assert pl.read_parquet(target).height == 2
    package = json.loads((dataset.parquet / "datapackage.json").read_text())
    assert "cell_stats" in {r["table"] for r in package["resources"]}
    dataset.ingest()  # a later ingest keeps the stats table
    assert dataset.sql("SELECT count(*) FROM cell_stats") == [(2,)]


def test_missing_raw_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="raw run directory not found"):
        ingest(tmp_path / "nope", tmp_path / "r.duckdb")


def test_hidden_temp_files_are_ignored(dataset: Dataset) -> None:
    (dataset.paths[0].parent / ".rep-9.json.abc.tmp").write_text("{")
    (dataset.paths[0].parent / ".rep-9.json").write_text("{")
    assert dataset.ingest().counts["files"] == len(dataset.paths)
    assert os.path.exists(dataset.db)


def test_database_file_is_readable_by_the_duckdb_1_5_cli(dataset: Dataset) -> None:
    """duckdb-cli on PyPI (1.5.x) cannot read the 2.0 storage format; new files use the 1.5 format."""
    dataset.ingest()
    dataset.ingest()  # reopening and writing again keeps the format
    tags = dataset.sql("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()")[0][0]
    assert tags["storage_version"].startswith("v1.5.0")
