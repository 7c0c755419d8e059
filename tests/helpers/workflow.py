"""Helpers for the workflow tests: a fresh copy of the checkout and commands run inside it.

The copy holds the checkout's files as git sees them (tracked plus untracked, minus ignored), so
generated data never leaks in; its own src/ is imported (PYTHONPATH) and its own workflow/,
analysis/ and paper/ are read (FWBENCH_ROOT), as on a fresh clone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]  # tests/helpers/workflow.py -> the checkout
VENV_BIN = Path(sys.executable).parent
#: What tests/test_slurm_cluster.py measured (Slurm jobs by state, wall time); tests/conftest.py prints it.
CLUSTER_SUMMARY = REPO / "logs" / "slurm-cluster-test.json"


def checkout_files(repo: Path = REPO) -> list[str]:
    """Tracked and untracked-but-not-ignored files of the checkout (what a clone plus work in progress holds)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo, check=True,
                         capture_output=True).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (repo / f).is_file()})


SHIPPED_RUNS = ("data/raw/", "data/dvc-store/")


def copy_checkout(dst: Path, repo: Path = REPO, shipped_runs: bool = False) -> Path:
    """Copy the checkout's files to dst (a fresh clone with the working tree's content).

    Without shipped_runs the copy leaves out the reference runs' DVC pointers and store, so a test
    of the workflow's own runs sees only what it measures (the reference host may be this host).
    """
    for rel in checkout_files(repo):
        if not shipped_runs and rel.startswith(SHIPPED_RUNS):
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, target)
    return dst


def env_for(root: Path) -> dict[str, str]:
    """Environment running the copy's package with the venv's tools."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(root / "src")
    env["FWBENCH_ROOT"] = str(root)
    env.pop("SNAKEMAKE_PROFILE", None)
    return env


def run(root: Path, *argv: str, timeout: float = 900, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run a command in the copy; returns the completed process (stdout and stderr captured)."""
    proc = subprocess.run(list(argv), cwd=root, env=env_for(root), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def snakemake(root: Path, *argv: str, timeout: float = 900, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run(root, str(VENV_BIN / "snakemake"), *argv, timeout=timeout, check=check)


def dvc(root: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(root, str(VENV_BIN / "dvc"), *argv, check=check)


def system_id(root: Path) -> str:
    return run(root, str(VENV_BIN / "fwbench"), "system-id", check=True).stdout.strip()


def grid_cells(root: Path, grid: str) -> list[str]:
    out = run(root, str(VENV_BIN / "fwbench"), "grid", "cells", grid, check=True).stdout
    return [line.split("\t")[0] for line in out.splitlines()[1:]]


def records_under(directory: Path) -> dict[Path, dict[str, Any]]:
    """Every rep-*.json below directory, parsed."""
    return {p: json.loads(p.read_text()) for p in sorted(directory.rglob("rep-*.json"))}


def nothing_to_do(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr


def processes_in(root: Path) -> list[int]:
    """PIDs of processes whose working directory is inside root (what a test started there)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(root) or cwd.startswith(str(root) + os.sep):
            pids.append(int(entry.name))
    return pids


def kill_processes_in(root: Path, timeout: float = 30) -> None:
    """SIGKILL, by PID, every process running inside root (e.g. orphaned benchmark workers)."""
    deadline = time.monotonic() + timeout
    while (pids := processes_in(root)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
