"""The copy of the checkout the workflow tests run in (helpers.workflow): what git sees, nothing generated."""

from __future__ import annotations

from pathlib import Path

from helpers.workflow import REPO, checkout_files


def test_checkout_copy_excludes_ignored_files(tmp_path: Path) -> None:
    files = checkout_files()
    assert "Snakefile" in files and "workflow/schemas/grid.schema.yaml" in files
    assert not [f for f in files if f.startswith((".venv/", ".snakemake/", "data/parquet/"))]
    assert not [f for f in files if f == "data/results.duckdb"]


def test_checkout_copy_fixture_holds_the_checkout_without_shipped_runs(checkout_copy: Path) -> None:
    assert (REPO / "pyproject.toml").is_file() and (REPO / "tests" / "helpers" / "workflow.py").is_file()
    assert (checkout_copy / "Snakefile").read_bytes() == (REPO / "Snakefile").read_bytes()
    assert (checkout_copy / "tests" / "helpers" / "workflow.py").is_file()
    assert not (checkout_copy / ".venv").exists() and not (checkout_copy / "data" / "results.duckdb").exists()
    assert not (checkout_copy / "data" / "raw").exists() and not (checkout_copy / "data" / "dvc-store").exists()
