"""The workflow through a real Slurm cluster: a one-node Slurm 22.05 cluster on this machine
(workflow/cluster/slurm-local.sh) runs the smoke grid with the repository's slurm profile.

One test, one run (the cluster is this machine's, so nothing else may stand it up meanwhile): the
grid is killed mid-way, resumed with the same command, and checked: every record present,
schema-valid and carrying its Slurm job id; no two timing runs overlapped; nothing measured before
the kill was lost or measured twice. Skips, saying why, where Slurm cannot be
installed (not root, no apt-get) or .venv-cluster is missing (`make setup-cluster`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fwbench.records import read_record
from helpers.workflow import (CLUSTER_SUMMARY, REPO, VENV_BIN, copy_checkout, env_for, grid_cells, records_under,
                              system_id)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

CLUSTER = REPO / "workflow" / "cluster" / "slurm-local.sh"
CLUSTER_PYTHON = REPO / ".venv-cluster" / "bin" / "python"
PACKAGES_MISSING = 3  # slurm-local.sh's exit status when the Debian packages cannot be installed
TIMING_RULES = ("start_campaign", "run_benchmark", "run_accuracy")


def _cannot_run_here() -> str | None:
    if os.geteuid() != 0:
        return "a one-node Slurm cluster needs root (apt-get install, daemons in /run)"
    if shutil.which("apt-get") is None:
        return "no apt-get: Debian's Slurm packages cannot be installed here"
    if not CLUSTER_PYTHON.exists():
        return "no .venv-cluster with snakemake-executor-plugin-slurm: run `make setup-cluster`"
    return None


def _cluster(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLUSTER), action], capture_output=True, text=True, timeout=900)


def _snakemake_argv() -> list[str]:
    """The command the README gives cluster users, with the smoke grid."""
    return [str(CLUSTER_PYTHON), "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
            "--config", "grid=smoke"]


@dataclass
class SlurmRun:
    root: Path
    raw: Path
    cells: list[str]
    before_kill: dict[Path, dict[str, Any]]
    resume: subprocess.CompletedProcess[str]
    jobs: Counter[str]
    wall_s: float


def _jobs() -> dict[int, str]:
    """Job id -> state of every job slurmctld still knows (MinJobAge keeps finished ones 10 minutes)."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i %T"], capture_output=True, text=True,
                         check=True).stdout
    return {int(job): state for job, state in (line.split() for line in out.splitlines() if line.strip())}


def _run_through_slurm(tmp_path_factory: pytest.TempPathFactory) -> SlurmRun:
    reason = _cannot_run_here()
    if reason:
        pytest.skip(reason)
    up = _cluster("up")
    if up.returncode == PACKAGES_MISSING:
        pytest.skip(f"the Debian Slurm packages cannot be installed here: {up.stderr[-1500:]}")
    assert up.returncode == 0, f"one-node Slurm cluster did not come up:\n{up.stderr[-3000:]}"
    earlier_jobs = max(_jobs(), default=0)  # job ids grow: this test's jobs are the ones above
    root = copy_checkout(tmp_path_factory.mktemp("slurm") / "repo")
    env = env_for(root)  # .venv/bin first on PATH: the jobs' `fwbench` is the benchmark venv's
    raw = root / "data" / "raw" / "smoke" / system_id(root)
    try:
        start = time.monotonic()
        proc = subprocess.Popen(_snakemake_argv(), cwd=root, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 900
        while len(list(raw.rglob("rep-*.json"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert proc.poll() is None, "the grid finished (or failed) before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the submitting Snakemake dies hard; its Slurm jobs live on
        proc.wait()
        before_kill = records_under(raw)
        subprocess.run(["scancel", "--full", "--user", "root"], check=False)  # what an operator does after a crash
        subprocess.run(_snakemake_argv()[:3] + ["--unlock", "--config", "grid=smoke"], cwd=root, env=env,
                       check=True, capture_output=True)
        resume = subprocess.run(_snakemake_argv(), cwd=root, env=env, capture_output=True, text=True, timeout=1800)
        wall_s = time.monotonic() - start
        jobs = Counter(state for job, state in _jobs().items() if job > earlier_jobs)
        CLUSTER_SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        CLUSTER_SUMMARY.write_text(json.dumps({"wall_s": round(wall_s), "jobs": sum(jobs.values()),
                                               "states": dict(jobs)}))  # conftest prints it after the run
        return SlurmRun(root, raw, grid_cells(root, "smoke"), before_kill, resume, jobs, wall_s)
    finally:
        subprocess.run(["scancel", "--full", "--user", "root"], check=False)
        down = _cluster("down")
        assert down.returncode == 0, down.stderr


def _interval(record: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(record["started_at"]), datetime.fromisoformat(record["finished_at"])


def test_the_smoke_grid_through_slurm_killed_and_resumed(tmp_path_factory: pytest.TempPathFactory) -> None:
    slurm_run = _run_through_slurm(tmp_path_factory)
    _completes(slurm_run)
    _every_record_is_present_valid_and_names_its_slurm_job(slurm_run)
    _no_two_timing_runs_overlapped(slurm_run)
    _a_killed_grid_resumes_with_the_same_command_and_loses_nothing(slurm_run)


def _completes(slurm_run: SlurmRun) -> None:
    assert slurm_run.resume.returncode == 0, slurm_run.resume.stderr[-4000:]
    assert (slurm_run.root / "paper" / "build" / "paper.pdf").is_file()
    # the killed run's pending jobs were cancelled; nothing failed
    assert slurm_run.jobs["COMPLETED"] >= len(slurm_run.cells) and not slurm_run.jobs["FAILED"], slurm_run.jobs


def _every_record_is_present_valid_and_names_its_slurm_job(slurm_run: SlurmRun) -> None:
    records = records_under(slurm_run.raw)
    speed = [r for r in records.values() if r["kind"] == "speed"]
    assert len(speed) == 2 * len(slurm_run.cells)
    assert len({(r["cell_id"], r["repetition"]) for r in speed}) == len(speed)
    job_ids = set()
    for path, record in records.items():
        read_record(path, schema=record["kind"] if record["kind"] == "accuracy" else "run")
        scheduler = record["system"]["scheduler"]
        assert scheduler["name"] == "slurm" and scheduler["job_id"].isdigit(), scheduler
        assert scheduler["cluster"] == "fwbench-local" and scheduler["partition"] == "compute"
        job_ids.add(scheduler["job_id"])
    assert len(job_ids) == len(records)  # one Slurm job per run
    assert len({r["campaign_id"] for r in records.values()}) == 1  # the job steps measured one campaign


def _no_two_timing_runs_overlapped(slurm_run: SlurmRun) -> None:
    """Timing jobs take a whole node (--exclusive), so their worker intervals never intersect."""
    records = sorted(records_under(slurm_run.raw).values(), key=lambda r: r["started_at"])
    for earlier, later in zip(records, records[1:]):
        assert _interval(earlier)[1] <= _interval(later)[0], (earlier["run_id"], later["run_id"])


def _a_killed_grid_resumes_with_the_same_command_and_loses_nothing(slurm_run: SlurmRun) -> None:
    after = records_under(slurm_run.raw)
    assert slurm_run.before_kill and set(slurm_run.before_kill) <= set(after)
    kept = [p for p, r in slurm_run.before_kill.items() if after[p]["run_id"] == r["run_id"]]
    # A record written after Snakemake died (a job it no longer watched) is unknown to the resumed run
    # and measured again; everything it had seen finish stays as it was.
    assert len(kept) >= len(slurm_run.before_kill) - 1, "records measured before the kill were redone"
    assert not list(slurm_run.raw.rglob("*.tmp")), "a half-written record was left behind"


def test_the_profile_is_the_readme_command() -> None:
    readme = (REPO / "README.md").read_text()
    assert "--workflow-profile workflow/profiles/slurm" in readme and "make cluster-test" in readme
    assert (VENV_BIN / "fwbench").exists()
