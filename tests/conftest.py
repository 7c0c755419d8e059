"""Fixtures shared by several test modules, built on the helpers in tests/helpers/.

tests/ has no __init__.py, so pytest (rootdir-based "prepend" import mode, also in xdist workers)
puts tests/ on sys.path and test modules import plain helpers as `from helpers.<module> import ...`.
The helpers are imported inside the fixtures, so a module that uses none of them never imports
their dependencies (and one broken helper import fails only the tests that use it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from helpers.dataset import Dataset


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    """The planted raw dataset of helpers.dataset under tmp_path/raw (database path tmp_path/out, not ingested)."""
    from helpers.dataset import make_dataset

    return make_dataset(tmp_path)


@pytest.fixture
def checkout_copy(tmp_path: Path) -> Path:
    """A fresh copy of the checkout at tmp_path/repo, without the shipped reference runs (helpers.workflow)."""
    from helpers.workflow import copy_checkout

    return copy_checkout(tmp_path / "repo")


@pytest.fixture(scope="session")
def figures_db(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """figures_db(name) -> the database of helpers.figures_data's synthetic dataset `name` ("A" or "B"),
    ingested and analyzed once per session (per xdist worker); read-only for the tests that share it."""
    from helpers.figures_data import build_db

    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = build_db(tmp_path_factory.mktemp(f"figures{name}"), name)
        return built[name]

    return get


_SESSION_START = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_SESSION_START] = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The Slurm cluster test's jobs and states (written by its xdist worker), once, at the end."""
    from helpers.workflow import CLUSTER_SUMMARY

    start = config.stash.get(_SESSION_START, None)
    if start is not None and CLUSTER_SUMMARY.is_file() and CLUSTER_SUMMARY.stat().st_mtime >= start:
        summary = json.loads(CLUSTER_SUMMARY.read_text())
        terminalreporter.write_line(f"slurm cluster test: {summary['jobs']} Slurm jobs, by state {summary['states']}; "
                                    f"smoke grid {summary['wall_s']} s wall incl. kill and resume")
