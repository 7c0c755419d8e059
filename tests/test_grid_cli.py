"""`fwbench grid`: list, validate, cells, jobs, and the wall-time estimate from measured runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import yaml

from fwbench import constants as C
from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench.grid_cli import estimate
from fwbench.synthetic import make_record


def main(*argv: str) -> int:
    from fwbench.cli import main as fwbench_main

    return fwbench_main(list(argv))


def test_list_shows_every_grid_with_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main("grid", "list") == 0
    out = capsys.readouterr().out
    smoke = fwgrid.load_grid("smoke")
    counts = fwjobs.plan(smoke).counts()
    assert counts["speed"] and counts["accuracy"]  # the smoke grid has both kinds
    assert (f"smoke\tv{smoke.version}\t{len(fwgrid.expand_cells(smoke))} cells\t{sum(counts.values())} jobs "
            f"({counts['speed']} speed, {counts['accuracy']} accuracy)") in out
    assert "default\t" in out and "full\t" in out and "gpu\t" in out


def test_cells_and_jobs_match_the_expansion(capsys: pytest.CaptureFixture[str]) -> None:
    grid = fwgrid.load_grid("smoke")
    assert main("grid", "cells", "smoke") == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("cell_id\tblock\tframework")
    assert [r.split("\t")[0] for r in rows[1:]] == [gc.cell_id for gc in fwgrid.expand_cells(grid)]
    assert main("grid", "jobs", "smoke") == 0
    jobs = [tuple(r.split("\t")) for r in capsys.readouterr().out.splitlines()[1:]]
    assert jobs == [(j.kind, str(j.repetition), j.cell_id) for j in fwjobs.plan(grid).jobs]
    assert {kind for kind, _, _ in jobs} == {"speed", "accuracy"}


def test_show_counts_every_job_kind(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main("grid", "show", "smoke") == 0
    shown = json.loads(capsys.readouterr().out)
    counts = fwjobs.plan(fwgrid.load_grid("smoke")).counts()
    assert shown["jobs_by_kind"] == counts and shown["jobs"] == sum(counts.values())
    assert shown["accuracy_cells"] == counts["accuracy"]


def test_validate_bad_grid_exits_2_naming_file_field_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(fwgrid.grid_path("smoke").read_text())
    data["cells"][0]["phases"] = ["training"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main("grid", "validate", str(bad)) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "cells[0].phases[0]" in err and "allowed: train, infer" in err
    assert main("grid", "validate", "smoke") == 0


def _accuracy_records(grid: fwgrid.Grid, seconds: float) -> list[dict]:
    from fwbench.synthetic.accuracy import make_accuracy_record

    out = []
    for job in fwjobs.plan(grid).accuracy:
        record = make_accuracy_record(job.cell, final_accuracy=0.9)
        start = datetime.fromisoformat(record["started_at"])
        record["finished_at"] = (start + timedelta(seconds=seconds)).isoformat()
        out.append(record)
    return out


def _records(grid: fwgrid.Grid, seconds: dict[str, float]) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    for gc in fwgrid.expand_cells(grid):
        if gc.cell.framework not in seconds:
            continue
        record = make_record(gc.cell, rng=rng, median_ms=10.0,
                             started_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        record["finished_at"] = (datetime(2026, 1, 1, tzinfo=timezone.utc)
                                 + timedelta(seconds=seconds[gc.cell.framework])).isoformat()
        out.append(record)
    return out


def test_estimate_sums_measured_durations_and_overhead() -> None:
    grid = fwgrid.load_grid("smoke")
    cells = fwgrid.expand_cells(grid)
    n_accuracy = fwjobs.plan(grid).counts()["accuracy"]
    seconds = {"torch": 4.0, "tensorflow": 7.0, "jax": 5.0, "keras": 6.0}
    records = _records(grid, seconds) + _accuracy_records(grid, 20.0)
    est = estimate(grid, records, overhead_s=0.5)
    expected = grid.repetitions * sum(seconds[gc.cell.framework] + 0.5 for gc in cells) + n_accuracy * 20.5
    assert est.seconds == pytest.approx(expected)
    assert (est.jobs, est.measured_cells, est.guessed_cells, est.unknown_cells) == (
        len(cells) * 2 + n_accuracy, len(cells) + n_accuracy, 0, 0)


def test_estimate_does_not_borrow_across_job_kinds() -> None:
    grid = fwgrid.load_grid("smoke")
    n_accuracy = fwjobs.plan(grid).counts()["accuracy"]
    est = estimate(grid, _records(grid, {fw: 4.0 for fw in C.FRAMEWORKS}), overhead_s=0.0)
    assert est.unknown_cells == n_accuracy  # speed runs say nothing about a training run's length


def test_estimate_borrows_from_similar_cells_and_counts_unknown() -> None:
    grid = fwgrid.load_grid("smoke")
    records = _records(grid, {"torch": 4.0})
    torch_cnn = [r for r in records if r["cell"]["model"] == "cnn"][:1]  # one torch cnn cell measured
    est = estimate(grid, torch_cnn, overhead_s=0.0)
    cells = fwgrid.expand_cells(grid)
    n_similar = sum(gc.cell.framework == "torch" and gc.cell.model == "cnn" for gc in cells)
    assert est.measured_cells == 1 and est.guessed_cells == n_similar - 1
    assert est.unknown_cells == len(cells) - n_similar + fwjobs.plan(grid).counts()["accuracy"]
    assert est.seconds == pytest.approx(grid.repetitions * n_similar * 4.0)


def test_estimate_counts_one_cold_compile_run_and_warm_runs_after_it() -> None:
    grid = fwgrid.load_grid("smoke")
    cold, warm = _records(grid, {"torch": 30.0})[0], _records(grid, {"torch": 5.0})[0]
    cold["compile_cache"] = {"state": "cold", "dir": ".cache/inductor/smoke"}
    warm["compile_cache"] = {"state": "warm", "dir": ".cache/inductor/smoke"}
    est = estimate(grid, [cold, warm], overhead_s=0.0)
    assert est.measured_cells == 1
    # the measured cell: 30 s once, then 5 s; its similar cells borrow the same split
    n_similar = sum(gc.cell.framework == cold["cell"]["framework"] and gc.cell.model == cold["cell"]["model"]
                    and gc.cell.mode == cold["cell"]["mode"] for gc in fwgrid.expand_cells(grid))
    assert est.seconds == pytest.approx(n_similar * (30.0 + (grid.repetitions - 1) * 5.0))
