"""Raw runs in DVC: `dvc add` per grid/host directory, status clean, push, pull into a fresh clone.

Synthetic records stand in for measured runs (the DVC mechanics do not depend on their values).
"""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from fwbench.records import read_record
from fwbench.synthetic import base_cell, fake_system, write_dataset
from helpers.workflow import REPO, copy_checkout, dvc, run, snakemake

pytestmark = pytest.mark.xdist_group("workflow_dvc")

UP_TO_DATE = "Data and pipelines are up to date."


def git(root: Path, *argv: str) -> str:
    return run(root, "git", "-c", "user.name=t", "-c", "user.email=t@t", *argv, check=True).stdout


def make_repo(root: Path) -> Path:
    copy_checkout(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "copy")
    return root


def add_host_runs(root: Path, host: str, grid: str = "default") -> Path:
    cells = {base_cell(): 30.0, base_cell(framework="tensorflow", mode="function"): 25.0}
    system = fake_system(host)
    write_dataset(root / "data" / "raw", cells, reps=3, grid_name=grid, system=system)
    return root / "data" / "raw" / grid / system["system_id"]


def test_added_runs_are_clean_pushed_and_pulled_into_a_fresh_clone(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    host_a = add_host_runs(root, "host-a")
    host_b = add_host_runs(root, "host-b")
    for host in (host_a, host_b):  # one .dvc file per grid/host directory: hosts never conflict
        dvc(root, "add", "-q", str(host.relative_to(root)))
        assert host.with_suffix(".dvc").is_file()
    ignored = (root / "data" / "raw" / "default" / ".gitignore").read_text()
    assert f"/{host_a.name}" in ignored and f"/{host_b.name}" in ignored
    status = dvc(root, "status", *(str(h.with_suffix(".dvc").relative_to(root)) for h in (host_a, host_b)))
    assert UP_TO_DATE in status.stdout

    remote = tmp_path / "remote"
    dvc(root, "remote", "add", "-d", "tmp", str(remote))
    dvc(root, "push", "-q")
    assert any(p.is_file() for p in remote.rglob("*"))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "runs of two hosts")

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    assert not (clone / host_a.relative_to(root)).exists()  # git holds only the .dvc pointers
    dvc(clone, "pull", "-q")
    for host in (host_a, host_b):
        restored = clone / host.relative_to(root)
        cmp = filecmp.dircmp(host, restored)
        assert not cmp.left_only and not cmp.right_only
        files = sorted(p.relative_to(host) for p in host.rglob("*") if p.is_file())
        assert files and all(filecmp.cmp(host / f, restored / f, shallow=False) for f in files)
    assert UP_TO_DATE in dvc(clone, "status", *(str(h.with_suffix(".dvc").relative_to(root))
                                                 for h in (host_a, host_b))).stdout

    # The fresh clone builds from the pulled runs without measuring (measure=false) ...
    plan = snakemake(clone, "-n", "--config", "grid=default", "measure=false", "--", "dataset")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "ingest_runs" in plan.stdout and "run_benchmark" not in plan.stdout
    # ... and a rerun on this host adds its own runs beside the pulled ones (another system id).
    plan = snakemake(clone, "-n", "--config", "grid=default", "--", "dataset")
    assert re.search(r"^run_benchmark\s+\d+$", plan.stdout, re.M)
    outputs = re.findall(r"^\s+output: (data/raw/\S+)$", plan.stdout, re.M)
    assert outputs and not [o for o in outputs if f"/{host_a.name}/" in o or f"/{host_b.name}/" in o]


def test_new_runs_show_in_status_until_added_again(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    host = add_host_runs(root, "host-a")
    target = str(host.with_suffix(".dvc").relative_to(root))
    dvc(root, "add", "-q", str(host.relative_to(root)))
    write_dataset(root / "data" / "raw", {base_cell(phase="infer"): 10.0}, reps=1, grid_name="default",
                  system=fake_system("host-a"))
    assert "modified" in dvc(root, "status", target).stdout
    dvc(root, "add", "-q", str(host.relative_to(root)))
    assert UP_TO_DATE in dvc(root, "status", target).stdout


def test_default_remote_is_a_directory_inside_the_repository(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    host = add_host_runs(root, "host-a")
    dvc(root, "add", "-q", str(host.relative_to(root)))
    dvc(root, "push", "-q")  # to the default remote: data/dvc-store, committed to git
    store = root / "data" / "dvc-store"
    assert any(p.is_file() for p in store.rglob("*"))
    assert not run(root, "git", "check-ignore", "-q", "data/dvc-store/files").returncode == 0


def test_shipped_reference_runs_pull_offline_and_build_without_measuring(tmp_path: Path) -> None:
    """A fresh clone gets the committed reference runs from data/dvc-store and plans no benchmark run."""
    pointers = sorted((REPO / "data" / "raw").glob("*/*/*.dvc"))  # one per campaign
    if not pointers:
        pytest.skip("no reference runs are shipped in this checkout")
    root = copy_checkout(tmp_path / "repo", shipped_runs=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "clone")
    dvc(root, "pull", "-q")  # from the in-repo default remote: no network
    for pointer in pointers:
        meta = yaml.safe_load(pointer.read_text())["outs"][0]
        restored = root / pointer.relative_to(REPO).with_suffix("")
        records = sorted(restored.rglob("rep-*.json"))
        assert len(records) + 1 == meta["nfiles"] and records  # the runs and the campaign's campaign.json
        read_record(restored / "campaign.json", schema="campaign")
        for record in records[:5]:
            read_record(record, schema=json.loads(record.read_text())["kind"].replace("speed", "run"))
    assert UP_TO_DATE in dvc(root, "status", *(str(p.relative_to(REPO)) for p in pointers)).stdout
    grid = pointers[0].parent.parent.name
    plan = snakemake(root, "-n", "--config", f"grid={grid}", "measure=false")
    assert plan.returncode == 0, plan.stderr[-3000:]
    planned = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, re.M))  # the job-count table
    assert "ingest_runs" in planned and "build_paper" in planned
    assert "run_benchmark" not in planned and "run_accuracy" not in planned
    # Reproducing measures a new campaign beside the shipped ones, never "nothing to be done".
    plan = snakemake(root, "-n", "--config", f"grid={grid}", "--", "runs")
    planned = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, re.M))
    assert planned.get("start_campaign") == "1" and int(planned.get("run_benchmark", 0)) > 0
    outputs = re.findall(r"^\s+output: (data/raw/\S+)$", plan.stdout, re.M)
    assert outputs and not [o for o in outputs for p in pointers if p.stem in o]
