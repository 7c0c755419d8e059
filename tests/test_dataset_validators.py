"""The dataset's metadata passes the reference validators, on a dataset built by the real pipeline.

Both Frictionless packages (data/parquet, data/analysis) validate with `frictionless validate`, the
Croissant file with `mlcroissant validate`, and mlcroissant reads as many runs as DuckDB holds. The
validators live in their own venv (.venv-dev, `make setup-dev`, built by `make test`). Every field of
every table carries a description, so a column added without one fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fwbench import paths
from fwbench.dataset.croissant import RECORD_SET_TABLES, write_croissant
from fwbench.dataset.metadata import DATAPACKAGE_FILE, frictionless_type
from fwbench.dataset.tables import RUNS, SYSTEMS, TABLES, describe

DEV_BIN = paths.DEV_VENV_DIR / "bin"
needs_validators = pytest.mark.skipif(
    not (DEV_BIN / "frictionless").is_file() or not (DEV_BIN / "mlcroissant").is_file(),
    reason=f"reference validators not installed in {paths.DEV_VENV_REL}: run `make setup-dev` (`make test` does)")


@pytest.fixture(scope="module")
def built(figures_db: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of an ingested and analyzed synthetic dataset (two hosts: two partitions) with its croissant.json."""
    db = figures_db("A")
    root = tmp_path_factory.mktemp("described")
    shutil.copy(db, root / db.name)
    for name in ("parquet", "analysis"):
        shutil.copytree(db.parent / name, root / name)
    write_croissant(root / "parquet", root / "analysis", root / "croissant.json")
    return root


def package(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / name / DATAPACKAGE_FILE).read_text(encoding="utf-8"))


def count(root: Path, sql: str) -> int:
    con = duckdb.connect(str(root / "results.duckdb"), read_only=True)
    try:
        return int(con.execute(sql).fetchall()[0][0])
    finally:
        con.close()


def test_every_field_of_every_table_is_described(built: Path) -> None:
    assert all(describe(c) for t in TABLES for c in t.columns)
    undescribed = [f"{directory}/{r['name']}.{f['name']}"
                   for directory in ("parquet", "analysis") for r in package(built, directory)["resources"]
                   for f in r["schema"]["fields"] if not f.get("description")]
    assert undescribed == []
    assert all(r.get("description") for d in ("parquet", "analysis") for r in package(built, d)["resources"])
    croissant = json.loads((built / "croissant.json").read_text(encoding="utf-8"))
    assert [f["@id"] for rs in croissant["recordSet"] for f in rs["field"] if not f.get("description")] == []


def test_a_partitioned_table_is_one_resource_per_file_whose_schema_is_the_file(built: Path) -> None:
    runs = [r for r in package(built, "parquet")["resources"] if r["table"] == "runs"]
    partitions = count(built, "SELECT count(*) FROM (SELECT DISTINCT grid_name, system_id FROM runs)")
    assert len(runs) == partitions >= 2 and all(set(r["partition"]) == set(RUNS.partition_by) for r in runs)
    for resource in runs:
        assert (built / "parquet" / resource["path"]).is_file()
        assert not {f["name"] for f in resource["schema"]["fields"]} & set(RUNS.partition_by)
        assert f"system_id={resource['partition']['system_id']}" in resource["path"]
    assert sum(r["rows"] for r in runs) == count(built, "SELECT count(*) FROM runs")


def test_types_are_declared_so_the_validator_reads_them() -> None:
    column = {c.name: c for c in SYSTEMS.columns}
    assert frictionless_type("INTEGER", column["host_processor_family"]) == "number"  # nullable: NaN via pandas
    assert frictionless_type("VARCHAR", column["system_id"]) == "string"
    assert frictionless_type("VARCHAR", column["packages"]) == "object"  # JSON text, checked as JSON
    assert frictionless_type("VARCHAR", column["host_processor_flags"]) == "array"
    assert frictionless_type("STRUCT(path VARCHAR)[]", None) == "any"
    assert frictionless_type("INTEGER", replace(column["host_processor_family"], nullable=False)) == "integer"
    assert frictionless_type("BIGINT", None) == "number"  # an analysis table's column: nullable as far as we know


def run_tool(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600)


@needs_validators
@pytest.mark.parametrize("directory", ["parquet", "analysis"])
def test_frictionless_validates_the_package(built: Path, directory: str) -> None:
    proc = run_tool(DEV_BIN / "frictionless", "validate", DATAPACKAGE_FILE, "--json", cwd=built / directory)
    report = json.loads(proc.stdout)
    errors = [(t["name"], e["message"]) for t in report["tasks"] for e in t["errors"]]
    assert report["valid"] and proc.returncode == 0, errors[:10]
    assert len(report["tasks"]) == len(package(built, directory)["resources"])


COUNT_RECORDS = """
import json, sys
import mlcroissant as mlc
dataset = mlc.Dataset(jsonld=sys.argv[1])
out = {}
for name in sys.argv[2:]:
    records = list(dataset.records(record_set=name))
    out[name] = {"n": len(records), "systems": sorted({r.get(f"{name}/system_id", b"").decode() for r in records})}
print(json.dumps(out))
"""


@needs_validators
def test_croissant_validates_and_reads_what_duckdb_holds(built: Path) -> None:
    proc = run_tool(DEV_BIN / "mlcroissant", "validate", "--jsonld", "croissant.json", cwd=built)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "error" not in (proc.stdout + proc.stderr).lower(), proc.stderr[-3000:]

    croissant = json.loads((built / "croissant.json").read_text(encoding="utf-8"))
    names = [rs["name"] for rs in croissant["recordSet"]]
    assert {"runs", "steps", "systems", "accuracy_runs", "claims"} <= set(names) <= set(RECORD_SET_TABLES)
    proc = run_tool(DEV_BIN / "python", "-c", COUNT_RECORDS, "croissant.json", "runs", "steps", "claims", cwd=built)
    assert proc.returncode == 0, proc.stderr[-3000:]
    read = json.loads(proc.stdout.strip().splitlines()[-1])
    assert read["runs"]["n"] == count(built, "SELECT count(*) FROM runs")
    assert read["steps"]["n"] == count(built, "SELECT count(*) FROM steps")
    assert read["claims"]["n"] == count(built, "SELECT count(*) FROM claims")
    # the partition column comes from the file path: both hosts, as DuckDB has them
    con = duckdb.connect(str(built / "results.duckdb"), read_only=True)
    try:
        systems = sorted(r[0] for r in con.execute("SELECT DISTINCT system_id FROM runs").fetchall())
    finally:
        con.close()
    assert read["runs"]["systems"] == systems
    checksums = {f["contentUrl"]: f["sha256"] for f in croissant["distribution"] if f["@type"] == "cr:FileObject"}
    assert checksums and all(len(v) == 64 for v in checksums.values())
    assert all((built / url).is_file() for url in checksums)
