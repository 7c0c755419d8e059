"""`fwbench query` in every format, and the views of analysis/views.sql on a planted dataset."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fwbench.dataset import cli as dataset_cli
from fwbench.dataset import query
from fwbench.records import write_record
from fwbench.synthetic import fake_system, make_record
from helpers.dataset import LSTM, PLANTED, TF, TORCH, Dataset, read  # the `dataset` fixture: conftest.py


def run_cli(argv: list[str]) -> int:
    """The dataset subcommands alone, so these tests do not depend on other stages' CLI modules."""
    parser = argparse.ArgumentParser(prog="fwbench")
    dataset_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


@pytest.fixture
def ingested(dataset: Dataset) -> Dataset:
    assert run_cli(["ingest", "--raw", str(dataset.raw), "--db", str(dataset.db)]) == 0
    return dataset


SQL = "SELECT framework, count(*) AS n FROM runs GROUP BY framework ORDER BY framework"


def test_query_table(ingested: Dataset, capsys) -> None:
    assert run_cli(["query", SQL, "--db", str(ingested.db)]) == 0
    out = capsys.readouterr().out
    assert "tensorflow" in out and "torch" in out and "(2 rows)" in out


def test_query_table_truncates_with_a_note(ingested: Dataset, capsys) -> None:
    assert run_cli(["query", "SELECT run_id FROM runs", "--db", str(ingested.db), "--max-rows", "4"]) == 0
    assert "(9 rows, 4 shown; --max-rows to see more)" in capsys.readouterr().out


def test_query_csv(ingested: Dataset, capsys) -> None:
    assert run_cli(["query", SQL, "--db", str(ingested.db), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["framework,n", "tensorflow,3", "torch,6"]


def test_query_json(ingested: Dataset, capsys) -> None:
    assert run_cli(["query", SQL, "--db", str(ingested.db), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"framework": "tensorflow", "n": 3}, {"framework": "torch", "n": 6}]


def test_query_parquet_and_out(ingested: Dataset, tmp_path: Path) -> None:
    out = tmp_path / "q" / "result.parquet"
    assert run_cli(["query", SQL, "--db", str(ingested.db), "--format", "parquet", "--out", str(out)]) == 0
    assert pl.read_parquet(out).to_dicts() == [{"framework": "tensorflow", "n": 3}, {"framework": "torch", "n": 6}]
    csv = tmp_path / "result.csv"
    assert run_cli(["query", SQL, "--db", str(ingested.db), "--format", "csv", "--out", str(csv)]) == 0
    assert csv.read_text().startswith("framework,n\n")


def test_query_errors(ingested: Dataset, tmp_path: Path, capsys) -> None:
    assert run_cli(["query", SQL, "--db", str(ingested.db), "--format", "parquet"]) == 2
    assert "--out" in capsys.readouterr().err
    assert run_cli(["query", "SELECT nope FROM runs", "--db", str(ingested.db)]) == 2
    assert "nope" in capsys.readouterr().err
    assert run_cli(["query", "SELEC nonsense", "--db", str(ingested.db)]) == 2  # bad SQL is bad input
    err = capsys.readouterr().err
    assert err.startswith("fwbench query: SQL error:") and "SELEC" in err
    assert run_cli(["query", SQL, "--db", str(tmp_path / "missing.duckdb")]) == 2
    assert "fwbench ingest" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli(["query", SQL, "--format", "xml"])


def test_query_is_read_only(ingested: Dataset, capsys) -> None:
    assert run_cli(["query", "DELETE FROM runs", "--db", str(ingested.db)]) == 2
    assert "read-only" in capsys.readouterr().err.lower()
    assert query("SELECT count(*) AS n FROM runs", ingested.db)["n"][0] == 9


def test_ingest_cli_prints_invalid_records_to_stderr(dataset: Dataset, capsys) -> None:
    record = read(dataset.paths[0])
    record["status"] = "exploded"
    dataset.paths[0].write_text(json.dumps(record))
    assert run_cli(["ingest", "--raw", str(dataset.raw), "--db", str(dataset.db)]) == 0
    captured = capsys.readouterr()
    rel = dataset.paths[0].relative_to(dataset.raw).as_posix()
    assert f"invalid record: {rel}: status:" in captured.err
    assert "1 invalid" in captured.out
    assert run_cli(["ingest", "--raw", str(dataset.raw), "--db", str(dataset.db), "--strict"]) == 1
    assert run_cli(["ingest", "--raw", str(dataset.raw / "nope"), "--db", str(dataset.db)]) == 2


def _expected_cell_medians(ds: Dataset) -> dict[str, float]:
    per_cell: dict[str, list[float]] = {}
    for path in ds.paths:
        record = read(path)
        per_cell.setdefault(record["cell_id"], []).append(statistics.median(record["steps"]["measured_ms"]))
    return {cell: statistics.median(values) for cell, values in per_cell.items()}


def test_views_on_a_planted_dataset(dataset: Dataset) -> None:
    rng = np.random.default_rng(7)
    system = fake_system()
    for rep, status in ((3, "oom"), (4, "skipped")):  # failures are rows, counted apart from the ok runs
        record = make_record(TORCH, rng=rng, median_ms=10.0, repetition=rep, status=status, system=system,
                             grid={"name": "synthetic", "version": 1, "hash": "synthetic"})
        write_record(dataset.raw / "synthetic" / system["system_id"] / TORCH.cell_id / f"rep-{rep}.json", record)
    dataset.ingest()
    expected = _expected_cell_medians(dataset)

    summary = query("SELECT * FROM cell_summary", dataset.db)
    assert summary.height == len(PLANTED)
    rows = {r["cell_id"]: r for r in summary.to_dicts()}
    torch = rows[TORCH.cell_id]
    assert (torch["n_runs"], torch["n_ok"], torch["n_failed"], torch["n_skipped"]) == (5, 3, 1, 1)
    for cell, value in expected.items():
        assert rows[cell]["median_step_ms"] == pytest.approx(value)
    assert rows[LSTM.cell_id]["median_step_ms"] == pytest.approx(PLANTED[LSTM], rel=0.15)  # planted 30 ms
    assert rows[TF.cell_id]["min_step_ms"] <= rows[TF.cell_id]["median_step_ms"] <= rows[TF.cell_id]["max_step_ms"]

    pairs = query("SELECT * FROM framework_pairs", dataset.db).to_dicts()
    assert len(pairs) == 1  # only the CNN cell has both frameworks
    (pair,) = pairs
    assert (pair["torch_mode"], pair["tensorflow_mode"]) == ("eager", "function")
    assert pair["tensorflow_over_torch"] == pytest.approx(expected[TF.cell_id] / expected[TORCH.cell_id])
    assert pair["tensorflow_over_torch"] == pytest.approx(12.0 / 10.0, rel=0.15)  # planted ratio

    runs = query("SELECT * FROM run_summary", dataset.db)
    assert runs.height == len(dataset.paths) + 2
    ok = runs.filter(pl.col("status") == "ok")
    assert (ok["median_throughput"] - ok["batch_size"] * 1000 / ok["median_step_ms"]).abs().max() < 1e-9
    failed = runs.filter(pl.col("status") != "ok")
    assert failed["median_step_ms"].null_count() == 2 and set(failed["error"]) == {"synthetic oom", "synthetic skipped"}


def test_example_readme_query(ingested: Dataset) -> None:
    """The README's example: median train throughput of every cnn cell, torch vs tensorflow."""
    df = query("""
        SELECT model, size, batch_size, device, threads, system_id,
               median(throughput) FILTER (WHERE framework = 'torch')      AS torch_samples_per_s,
               median(throughput) FILTER (WHERE framework = 'tensorflow') AS tensorflow_samples_per_s,
               count(*) FILTER (WHERE status = 'ok')                      AS n_ok_runs
        FROM runs
        WHERE model = 'cnn' AND phase = 'train' AND status = 'ok'
        GROUP BY ALL ORDER BY ALL""", ingested.db)
    (row,) = df.to_dicts()
    assert row["torch_samples_per_s"] > row["tensorflow_samples_per_s"]  # planted: torch 10 ms, tf 12 ms per step
    assert row["n_ok_runs"] == 6


def test_write_table_twice_on_one_connection(tmp_path):
    """DuckDB 2 refuses new work while a result is unfetched; write_table must leave none behind."""
    import fwbench.dataset as fwdataset

    con = fwdataset.connect(tmp_path / "results.duckdb")
    for name in ("first_table", "second_table"):
        fwdataset.write_table(con, name, pl.DataFrame({"x": [1, 2, 3]}))
    assert con.execute("SELECT count(*) FROM second_table").fetchall() == [(3,)]
    assert (tmp_path / "parquet" / "second_table.parquet").is_file()
