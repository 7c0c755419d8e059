"""The workflow's wiring without running jobs: grid errors stop it early, rules, profiles, DVC stages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench import paths
from helpers.workflow import REPO, copy_checkout, snakemake

pytestmark = pytest.mark.xdist_group("workflow_config")

RULE_FILES = sorted((REPO / "workflow" / "rules").glob("*.smk"))
TARGET_RULES = {"all", "runs", "dataset", "analysis", "figures", "paper"}
VERBS = {"start", "run", "ingest", "analyze", "describe", "render", "build"}
CALLS = ("fwbench ", "fwjobs.command(")


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("wf") / "repo")


def test_bad_grid_stops_before_any_job_naming_file_field_and_allowed_values(copy: Path) -> None:
    bad = yaml.safe_load((copy / "workflow" / "grids" / "smoke.yaml").read_text())
    bad["cells"][0]["frameworks"] = {"torch": ["eager", "jit"]}
    (copy / "workflow" / "grids" / "bad.yaml").write_text(yaml.safe_dump(bad))
    proc = snakemake(copy, "-n", "--config", "grid=bad")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "workflow/grids/bad.yaml" in out and "cells[0].frameworks.torch[1]" in out
    assert "'jit' is not allowed; allowed: eager, compile" in out
    assert "run_benchmark" not in out and not (copy / "data" / "raw" / "bad").exists()


def test_unknown_grid_lists_the_available_grids(copy: Path) -> None:
    proc = snakemake(copy, "-n", "--config", "grid=nonesuch")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "no such grid 'nonesuch'" in out
    assert re.search(r"available grids: .*default.*smoke", out)


def test_dry_run_plans_one_job_per_cell_and_repetition(copy: Path) -> None:
    grid = fwgrid.load_grid(copy / "workflow" / "grids" / "smoke.yaml")
    proc = snakemake(copy, "-n", "--config", "grid=smoke", "--", "runs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = re.search(r"^run_benchmark\s+(\d+)$", proc.stdout, re.M)
    assert jobs and int(jobs.group(1)) == len(fwjobs.plan(grid).speed)
    assert "bench_slot=1" in proc.stdout


def test_default_target_is_the_paper_with_every_stage_before_it(copy: Path) -> None:
    proc = snakemake(copy, "-n", "--config", "grid=smoke")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rule in ("run_benchmark", "run_accuracy", "ingest_runs", "analyze_runs", "describe_dataset", "render_figures",
                 "build_paper"):
        assert re.search(rf"^{rule}\s+\d+$", proc.stdout, re.M), rule


def _rules(text: str) -> dict[str, str]:
    parts = re.split(r"^rule (\w+):\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_working_rule_has_a_log_and_a_verb_object_name() -> None:
    rules: dict[str, str] = {}
    for path in [REPO / "Snakefile", *RULE_FILES]:
        rules.update(_rules(path.read_text()))
    assert {"run_benchmark", "ingest_runs", "analyze_runs", "render_figures", "build_paper"} <= set(rules)
    assert TARGET_RULES <= set(rules)
    for name, body in rules.items():
        if name in TARGET_RULES:
            assert "shell:" not in body and "run:" not in body
            continue
        assert name.split("_")[0] in VERBS and "_" in name, name
        assert "    log:" in body and "{log}" in body, f"{name} has no log"
        assert "    output:" in body and re.search(r"^        \w+=", body.split("output:")[1], re.M), name
        assert any(call in body for call in CALLS), f"{name} does not call the package"


def test_snakefile_only_sets_config_and_includes() -> None:
    text = (REPO / "Snakefile").read_text()
    code = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    allowed = ("config.setdefault(", "include:", "rule all:", "    ", '"""')
    assert all(line.startswith(allowed) for line in code), code
    assert {f"workflow/rules/{p.name}" for p in RULE_FILES} == set(re.findall(r'include: "(.+)"', text))


def test_profiles() -> None:
    profiles = REPO / "workflow" / "profiles"
    default = yaml.safe_load((profiles / "default" / "config.yaml").read_text())
    assert default["cores"] == "all" and "bench_slot=1" in default["resources"]
    assert default["keep-going"] and default["rerun-incomplete"] and default["printshellcmds"]
    slurm = yaml.safe_load((profiles / "slurm" / "config.yaml").read_text())
    assert slurm["executor"] == "slurm" and slurm["jobs"] and slurm["default-resources"]
    k8s = yaml.safe_load((profiles / "kubernetes" / "config.yaml").read_text())
    assert k8s["executor"] == "kubernetes" and k8s["jobs"]
    pins = (REPO / "environments" / "requirements-cluster.txt").read_text()
    for plugin in ("snakemake-executor-plugin-slurm", "snakemake-executor-plugin-kubernetes"):
        assert re.search(rf"^{plugin}==\d", pins, re.M), plugin


def test_dvc_owns_the_raw_runs_and_hands_the_build_to_snakemake() -> None:
    """No path has two owners: DVC versions data/raw, Snakemake builds every derived path."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["build"]
    build = stages["build"]
    assert build["cmd"].startswith("snakemake ") and "measure=false" in build["cmd"]
    assert build.get("always_changed") is True and not build.get("outs") and not build.get("deps")
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    assert lock["stages"] == {"build": {"cmd": build["cmd"]}}  # nothing in it can go stale
    config = (REPO / ".dvc" / "config").read_text()
    assert "remote = local" in config and "url = ../data/dvc-store" in config


def test_workflow_paths_are_the_packages(copy: Path) -> None:
    """The rules read their paths from fwbench.paths: the plan's outputs are exactly those paths."""
    proc = snakemake(copy, "-n", "--config", "grid=smoke", "measure=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = set(re.findall(r"^\s+output: (.+)$", proc.stdout, re.M))
    flat = {p.strip() for line in outputs for p in line.split(",")}
    assert {paths.DB_REL, paths.PARQUET_REL, paths.ANALYSIS_OUT_REL, paths.FIGURES_REL, paths.REPORT_HTML_REL,
            paths.PAPER_PDF_REL, paths.GENERATED_REL} <= flat
    assert paths.parquet_dir_for(paths.DB_REL).as_posix() == paths.PARQUET_REL


def test_accuracy_section_plans_one_job_per_framework_model_seed(copy: Path) -> None:
    data = yaml.safe_load((copy / "workflow" / "grids" / "smoke.yaml").read_text())
    data["accuracy"] = {"frameworks": ["torch", "tensorflow"], "models": {"cnn": {"size": "tiny", "epochs": 1}},
                        "seeds": 2}
    (copy / "workflow" / "grids" / "acc.yaml").write_text(yaml.safe_dump(data))
    proc = snakemake(copy, "-n", "--config", "grid=acc", "--", "runs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = dict(re.findall(r"^(run_\w+)\s+(\d+)$", proc.stdout, re.M))
    grid = fwgrid.load_grid(copy / "workflow" / "grids" / "acc.yaml")
    plan = fwjobs.plan(grid)
    assert int(jobs["run_accuracy"]) == 4 == plan.counts()["accuracy"]
    assert int(jobs["run_benchmark"]) == plan.counts()["speed"]
    data["accuracy"]["lr_schedule"] = "cosine"
    (copy / "workflow" / "grids" / "acc.yaml").write_text(yaml.safe_dump(data))
    proc = snakemake(copy, "-n", "--config", "grid=acc")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "acc.yaml: invalid grid: accuracy.lr_schedule: 'cosine' is not allowed" in out
    assert "allowed: constant, step" in out
