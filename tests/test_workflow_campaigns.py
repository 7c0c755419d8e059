"""The workflow measures a campaign: a new one where this host's campaigns of the grid are finished,
the unfinished one after a crash, a named one on request (dry runs in a copy of the checkout)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fwbench import campaigns
from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench.records import write_json_atomic
from helpers.workflow import copy_checkout, nothing_to_do, snakemake, system_id

pytestmark = pytest.mark.xdist_group("workflow_campaigns")

FINISHED = "20261120T100000Z-aaaa"
CRASHED = "20261121T100000Z-bbbb"


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("wfc") / "repo")


def _plan(root: Path) -> fwjobs.Plan:
    return fwjobs.plan(fwgrid.load_grid(root / "workflow" / "grids" / "smoke.yaml"))


def _campaign(root: Path, campaign_id: str, n: int | None = None) -> Path:
    """A campaign of the smoke grid on this host with the plan's first n records present (all by default)."""
    plan = _plan(root)
    directory = campaigns.host_dir(root / "data" / "raw", "smoke", system_id(root)) / campaign_id
    grid = plan.grid
    write_json_atomic(directory / campaigns.CAMPAIGN_FILE, campaigns.campaign_record(
        campaign_id, grid.ref().as_record(), plan.counts(),
        {"system_id": system_id(root)}, None, "2026-11-20T10:00:00+00:00"))
    for job in plan.jobs[: len(plan.jobs) if n is None else n]:
        path = Path(campaigns.record_path(directory, job))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")  # which campaign to measure depends on presence only
    return directory


def _planned_outputs(proc) -> list[str]:  # noqa: ANN001 - CompletedProcess
    assert proc.returncode == 0, proc.stderr[-3000:]
    return re.findall(r"^\s+output: (data/raw/\S+)$", proc.stdout, re.M)


def test_finished_campaigns_are_never_redone_a_new_one_is_measured(copy: Path) -> None:
    _campaign(copy, FINISHED)
    outputs = _planned_outputs(snakemake(copy, "-n", "--config", "grid=smoke", "--", "runs"))
    plan = _plan(copy)
    assert len(outputs) == len(plan.jobs) + 1  # every run, and the new campaign's campaign.json
    new = {Path(o).parts[4] for o in outputs}
    assert len(new) == 1 and FINISHED not in new and campaigns.is_campaign_id(new.pop())
    assert any(o.endswith(f"/{campaigns.CAMPAIGN_FILE}") for o in outputs)
    # asked for by name, the finished campaign has nothing left to measure
    assert nothing_to_do(snakemake(copy, "-n", "--config", "grid=smoke", f"campaign={FINISHED}", "--", "runs"))


def test_an_unfinished_campaign_is_resumed_with_only_its_missing_runs(copy: Path) -> None:
    directory = _campaign(copy, CRASHED, n=5)
    outputs = _planned_outputs(snakemake(copy, "-n", "--config", "grid=smoke", "--", "runs"))
    plan = _plan(copy)
    missing = {campaigns.record_path(directory.relative_to(copy), job) for job in plan.jobs[5:]}
    assert set(outputs) == missing  # campaign.json exists: no start job, and no run redone
    # campaign=new starts another one instead
    fresh = _planned_outputs(snakemake(copy, "-n", "--config", "grid=smoke", "campaign=new", "--", "runs"))
    assert len(fresh) == len(plan.jobs) + 1 and not [o for o in fresh if CRASHED in o]


def test_a_bad_campaign_stops_the_workflow_naming_the_allowed_values(copy: Path) -> None:
    proc = snakemake(copy, "-n", "--config", "grid=smoke", "campaign=20260101T000000Z-dead")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "no such campaign" in out and "allowed: new" in out
