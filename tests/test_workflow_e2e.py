"""End to end: the smoke grid through the whole workflow in a fresh copy of the checkout.

One module-scoped run feeds several tests: complete outputs, nothing to do afterwards, runs
interleaved and never overlapping, an edited grid adding only its new runs, and runs pooled from
a second host. A second copy is killed mid-grid and restarted: no run lost or duplicated.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from fwbench.grid import load_grid
from fwbench.jobs import interleaved, plan
from fwbench.records import read_record
from helpers.workflow import (copy_checkout, env_for, grid_cells, kill_processes_in, nothing_to_do,
                              records_under, snakemake, system_id, VENV_BIN)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workflow_e2e")]


class SmokeRun:
    def __init__(self, root: Path, proc: subprocess.CompletedProcess[str], seconds: float) -> None:
        self.root, self.proc, self.seconds = root, proc, seconds
        self.system_id = system_id(root)
        self.raw = root / "data" / "raw" / "smoke" / self.system_id
        self.cells = grid_cells(root, "smoke")
        grid = load_grid("smoke", grids_dir=root / "workflow" / "grids")
        self.n_accuracy_jobs = plan(grid).counts()["accuracy"]
        campaign_dirs = sorted(p for p in self.raw.iterdir() if p.is_dir()) if self.raw.is_dir() else []
        self.campaign = campaign_dirs[0].name if len(campaign_dirs) == 1 else None  # the one campaign measured


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    root = copy_checkout(tmp_path_factory.mktemp("smoke") / "repo")
    start = time.monotonic()
    proc = snakemake(root, "--cores", "all", "--config", "grid=smoke", timeout=1200)
    seconds = time.monotonic() - start
    print(f"smoke workflow: {seconds:.0f} s wall")  # reported with -s; never asserted
    return SmokeRun(root, proc, seconds)


def _interval(record: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(record["started_at"]), datetime.fromisoformat(record["finished_at"])


def test_smoke_workflow_builds_every_stage(smoke: SmokeRun) -> None:
    assert smoke.proc.returncode == 0, smoke.proc.stderr[-4000:]
    records = records_under(smoke.raw)
    speed = {p: r for p, r in records.items() if r["kind"] == "speed"}
    accuracy = {p: r for p, r in records.items() if r["kind"] == "accuracy"}
    assert len(speed) == 2 * len(smoke.cells)
    assert len(accuracy) == smoke.n_accuracy_jobs > 0  # the accuracy track runs in the smoke grid
    assert {r["status"] for r in accuracy.values()} == {"ok"}
    for path, record in records.items():
        read_record(path, schema=record["kind"] if record["kind"] == "accuracy" else "run")  # schema-valid
        assert record["cell_id"] == path.parent.name and path.name == f"rep-{record['repetition']}.json"
        assert record["grid"]["name"] == "smoke" and record["system"]["system_id"] == smoke.system_id
        assert record["campaign_id"] == smoke.campaign == path.parent.parent.name  # one campaign, its directory
        assert record["machine_state"]["canary_ms"] > 0 and record["system"]["fingerprint_version"] == 2
    campaign = read_record(smoke.raw / smoke.campaign / "campaign.json", schema="campaign")
    assert campaign["campaign_id"] == smoke.campaign and campaign["machine_state"]["canary_ms"] > 0
    assert (smoke.root / "data" / "results.duckdb").is_file()
    for stage_output in ("data/analysis", "paper/build/figures", "paper/build/paper.pdf"):
        assert (smoke.root / stage_output).exists(), stage_output
    assert (smoke.root / "logs" / "smoke" / "ingest_runs.log").is_file()


def test_runs_are_interleaved_and_never_overlap(smoke: SmokeRun) -> None:
    records = sorted(records_under(smoke.raw).values(), key=lambda r: r["started_at"])
    reps = [r["repetition"] for r in records if r["kind"] == "speed"]
    assert reps == sorted(reps), "repetition k of every cell runs before repetition k+1 of any"
    # RMIT: within each round the runs follow the campaign's shuffled order, and each records its place
    speed = [r for r in records if r["kind"] == "speed"]
    planned = interleaved(plan(load_grid("smoke", grids_dir=smoke.root / "workflow" / "grids")), smoke.campaign)
    for rep in set(reps):
        ran = [r for r in speed if r["repetition"] == rep]
        assert [r["position"] for r in ran] == list(range(len(ran)))
        assert [r["cell_id"] for r in ran] == [j.cell_id for j in planned.speed if j.repetition == rep]
    for earlier, later in zip(records, records[1:]):
        assert _interval(earlier)[1] <= _interval(later)[0], "two timing runs overlapped"


def test_a_finished_campaign_is_never_redone_reproducing_measures_a_new_one(smoke: SmokeRun) -> None:
    proc = snakemake(smoke.root, "-n", "--config", "grid=smoke", f"campaign={smoke.campaign}")  # complete
    assert nothing_to_do(proc), proc.stdout[-3000:]
    assert nothing_to_do(snakemake(smoke.root, "-n", "--config", "grid=smoke", "measure=false"))
    again = snakemake(smoke.root, "-n", "--config", "grid=smoke", "--", "runs")  # what `make reproduce` plans
    outputs = re.findall(r"^\s+output: (data/raw/\S+)$", again.stdout, re.M)
    assert outputs and not [o for o in outputs if smoke.campaign in o]
    assert len({Path(o).parts[4] for o in outputs}) == 1  # all in one new campaign


def test_editing_the_grid_adds_only_the_new_runs(smoke: SmokeRun) -> None:
    grid_file = smoke.root / "workflow" / "grids" / "smoke.yaml"
    original = grid_file.read_text()
    data = yaml.safe_load(original)
    data["version"] += 1
    data["protocol"]["steps"] += 1  # a protocol edit does not rerun measured cells either
    data["cells"].append({"name": "new", "frameworks": {"torch": ["eager"]}, "models": {"lstm": ["tiny"]},
                          "phases": ["infer"], "batch_sizes": [4], "seq_lens": [8], "threads": [1]})
    try:
        grid_file.write_text(yaml.safe_dump(data))  # extending the measured campaign with the edited grid
        proc = snakemake(smoke.root, "-n", "--config", "grid=smoke", f"campaign={smoke.campaign}", "--", "runs")
    finally:
        grid_file.write_text(original)
    assert proc.returncode == 0, proc.stderr[-3000:]
    new_cells = set(grid_cells_after := [c for c in _planned_cells(proc.stdout)])
    assert len(grid_cells_after) == 2 and len(new_cells) == 1 and not new_cells & set(smoke.cells)


def _planned_cells(text: str) -> list[str]:
    return [line.split("cell=")[1].split(",")[0] for line in text.splitlines() if "wildcards: cell=" in line]


def test_runs_from_two_hosts_are_pooled_in_the_dataset(smoke: SmokeRun) -> None:
    from fwbench.synthetic import base_cell, fake_system, write_dataset

    other = fake_system("second-host")
    assert other["system_id"] != smoke.system_id
    write_dataset(smoke.root / "data" / "raw", {base_cell(size="tiny", batch_size=8): 20.0}, reps=2,
                  grid_name="smoke", system=other)
    dry = snakemake(smoke.root, "-n", "--config", "grid=smoke", f"campaign={smoke.campaign}", "--", "dataset")
    assert "ingest_runs" in dry.stdout and "run_benchmark" not in dry.stdout  # no rerun of this host's runs
    snakemake(smoke.root, "--cores", "all", "--config", "grid=smoke", f"campaign={smoke.campaign}", "--", "dataset",
              check=True)
    import duckdb

    con = duckdb.connect(str(smoke.root / "data" / "results.duckdb"), read_only=True)
    try:
        hosts = dict(con.execute("SELECT system_id, count(*) FROM runs GROUP BY system_id").fetchall())
    finally:
        con.close()
    assert hosts == {smoke.system_id: 2 * len(smoke.cells), other["system_id"]: 2}


# --- resume after a kill -----------------------------------------------------------------------

RESUME_GRID = {
    "version": 1,
    "repetitions": 3,
    "protocol": {"warmup": 1, "steps": 3, "timeout": 120},
    "cells": [
        {"name": "torch", "frameworks": {"torch": ["eager"]}, "models": {"cnn": ["tiny"]},
         "phases": ["train", "infer"], "batch_sizes": [4], "threads": [1]},
        {"name": "no-gpu-here", "frameworks": {"torch": ["eager"]}, "models": {"cnn": ["tiny"]},
         "phases": ["infer"], "batch_sizes": [4], "threads": [1], "devices": ["cuda"]},
    ],
}


def test_killed_run_restarts_without_losing_or_duplicating_runs(checkout_copy: Path) -> None:
    root = checkout_copy
    (root / "workflow" / "grids" / "resume.yaml").write_text(yaml.safe_dump(RESUME_GRID))
    raw = root / "data" / "raw" / "resume" / system_id(root)
    argv = [str(VENV_BIN / "snakemake"), "--cores", "all", "--config", "grid=resume", "--", "runs"]
    proc = subprocess.Popen(argv, cwd=root, env=env_for(root), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while len(list(raw.rglob("rep-*.json"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the grid finished before it could be killed"
        time.sleep(1.0)  # usually mid-job; a kill right after a record was written is handled too
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job shells: a hard crash
        except ProcessLookupError:
            pass
        proc.wait()
        kill_processes_in(root)  # benchmark workers run in their own session
    before = {p: r["run_id"] for p, r in records_under(raw).items()}
    assert 3 <= len(before) < 9

    snakemake(root, "--unlock", "--config", "grid=resume", check=True)  # the crash left the lock
    # As `make reproduce` does: the default profile sets --rerun-incomplete (and bench_slot=1).
    restart = snakemake(root, "--profile", "workflow/profiles/default", "--config", "grid=resume", "--", "runs")
    assert restart.returncode == 0, restart.stderr[-3000:]

    after = records_under(raw)
    assert len(after) == 9 == len({(r["cell_id"], r["repetition"]) for r in after.values()})
    redone = [p for p in before if after[p]["run_id"] != before[p]]
    # Only a record Snakemake had not yet marked complete when killed may be measured again
    # (records are written atomically, so it was whole; bench_slot=1 means at most one such job).
    assert len(redone) <= 1 and all(str(p.relative_to(root)) in restart.stdout + restart.stderr for p in redone)
    assert not list(raw.rglob("*.tmp")), "a half-written record was left behind"
    statuses = {(r["cell"]["device"], r["status"]) for r in after.values()}
    assert {s for d, s in statuses if d == "cpu"} == {"ok"}
    assert "ok" not in {s for d, s in statuses if d == "cuda"}  # the failure is a record; the grid went on
    campaigns = {p.parent.parent.name for p in after}
    assert len(campaigns) == 1  # the restart resumed the crashed campaign instead of starting another
    assert nothing_to_do(snakemake(root, "-n", "--config", "grid=resume", f"campaign={campaigns.pop()}", "--", "runs"))


def test_reference_procedure_leaves_dvc_and_snakemake_clean(smoke: SmokeRun) -> None:
    """What `make reference` does after the grid ran: dvc add the campaign's dir, dvc commit, push."""
    from helpers.workflow import REPO, dvc, run

    root = smoke.root
    git = ("git", "-c", "user.name=t", "-c", "user.email=t@t")
    run(root, "git", "init", "-q", "-b", "main", check=True)
    run(root, *git, "add", "-A", "--", ".", ":!data/raw", check=True)  # new runs go to DVC, not git
    run(root, *git, "commit", "-q", "-m", "copy", check=True)
    raw_dirs = [smoke.raw / smoke.campaign]  # one .dvc per campaign
    for directory in raw_dirs:
        dvc(root, "add", "-q", str(directory.relative_to(root)))
    snakemake(root, "--cores", "all", "--config", "grid=smoke", f"campaign={smoke.campaign}", check=True)
    dvc(root, "commit", "-f", "-q")
    pointers = [str(d.with_suffix(".dvc").relative_to(root)) for d in raw_dirs]
    assert "Data and pipelines are up to date." in dvc(root, "status", *pointers).stdout
    # DVC's one stage hands the build to Snakemake: always run, nothing of its own to go stale
    assert dvc(root, "status").stdout.split() == ["build:", "always", "changed"]
    # dvc add left the runs alone
    assert nothing_to_do(snakemake(root, "-n", "--config", "grid=smoke", f"campaign={smoke.campaign}"))
    assert yaml.safe_load((root / "dvc.lock").read_text()) == yaml.safe_load((REPO / "dvc.lock").read_text())
    dvc(root, "push", "-q")
    assert any((root / "data" / "dvc-store").rglob("*"))
