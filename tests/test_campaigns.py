"""Campaigns: ids, the raw layout, which campaign a run of the workflow measures (resume an
unfinished one, never redo a finished one, a named one on request), and what ingest makes of them."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fwbench import campaigns
from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench.campaigns import CampaignError, campaign_of_path, new_campaign_id, record_path, resolve
from fwbench.records import write_json_atomic

NOW = datetime(2026, 11, 29, 22, 35, 0, tzinfo=timezone.utc)
GRID = {"name": "default", "version": 1, "hash": "0123456789ab"}


@pytest.fixture(scope="module")
def plan() -> fwjobs.Plan:
    return fwjobs.plan(fwgrid.load_grid("smoke", cores=2))


def fill(campaign_dir: Path, plan: fwjobs.Plan, n: int | None = None, grid_hash: str | None = None) -> None:
    """Put the first n of the plan's records (all by default) and a campaign.json in a campaign directory."""
    grid = plan.grid
    meta = campaigns.campaign_record(campaign_dir.name, {**grid.ref().as_record(), "hash": grid_hash or grid.hash},
                                     plan.counts(), {"system_id": "0123456789"}, None, NOW.isoformat())
    write_json_atomic(campaign_dir / campaigns.CAMPAIGN_FILE, meta)
    for job in plan.jobs[: len(plan.jobs) if n is None else n]:
        path = Path(record_path(campaign_dir, job))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")  # the resolver looks at presence only


def test_campaign_ids_sort_by_time_and_carry_a_nonce() -> None:
    cid = new_campaign_id(NOW)
    assert re.fullmatch(r"20261129T223500Z-[0-9a-f]{4}", cid) and campaigns.is_campaign_id(cid)
    later = new_campaign_id(datetime(2026, 11, 30, tzinfo=timezone.utc))
    assert sorted([later, cid]) == [cid, later]
    assert len({new_campaign_id(NOW) for _ in range(50)}) > 1  # the nonce separates same-second starts
    assert not campaigns.is_campaign_id("2026-11-29") and not campaigns.is_campaign_id(campaigns.NEW)


def test_the_campaign_of_a_record_is_its_directory_or_unassigned() -> None:
    assert campaign_of_path("default/61f2d7d45e/20261125T143029Z-5f33/0339b18d0a8c/rep-0.json") == \
        "20261125T143029Z-5f33"
    assert campaign_of_path("default/61f2d7d45e/0339b18d0a8c/rep-0.json") == campaigns.UNASSIGNED
    assert campaign_of_path("default/61f2d7d45e/notacampaign/0339b18d0a8c/rep-0.json") == campaigns.UNASSIGNED


def test_a_host_without_campaigns_starts_a_new_one(tmp_path: Path, plan: fwjobs.Plan) -> None:
    cid, why = resolve(tmp_path / "default" / "host", plan, now=NOW)
    assert cid.startswith("20261129T223500Z-") and why == "new campaign"


def test_an_unfinished_campaign_is_resumed_and_a_finished_one_never_redone(tmp_path: Path,
                                                                          plan: fwjobs.Plan) -> None:
    host = tmp_path / "smoke" / "host"
    fill(host / "20261120T100000Z-aaaa", plan)  # finished
    fill(host / "20261121T100000Z-bbbb", plan, n=3)  # crashed after 3 runs
    cid, why = resolve(host, plan, now=NOW)
    assert cid == "20261121T100000Z-bbbb" and why.startswith("resuming") and f"3/{len(plan.jobs)}" in why
    fill(host / "20261121T100000Z-bbbb", plan)  # now finished too
    cid, why = resolve(host, plan, now=NOW)
    assert cid not in ("20261120T100000Z-aaaa", "20261121T100000Z-bbbb") and why == "new campaign"
    states = campaigns.campaigns_of(host, plan)
    assert [s.campaign_id for s in states] == ["20261120T100000Z-aaaa", "20261121T100000Z-bbbb"]
    assert all(s.finished for s in states)


def test_an_unfinished_campaign_of_another_grid_version_is_not_resumed(tmp_path: Path, plan: fwjobs.Plan) -> None:
    host = tmp_path / "smoke" / "host"
    fill(host / "20261121T100000Z-bbbb", plan, n=3, grid_hash="000000000000")
    assert resolve(host, plan, now=NOW)[1] == "new campaign"


def test_new_and_a_named_campaign_on_request(tmp_path: Path, plan: fwjobs.Plan) -> None:
    host = tmp_path / "smoke" / "host"
    fill(host / "20261121T100000Z-bbbb", plan, n=3)
    fill(host / "20261120T100000Z-aaaa", plan)
    assert resolve(host, plan, campaigns.NEW, now=NOW)[1] == "new campaign"
    cid, why = resolve(host, plan, "20261120T100000Z-aaaa", now=NOW)  # extend a finished one: nothing missing
    assert cid == "20261120T100000Z-aaaa" and "as asked" in why
    with pytest.raises(CampaignError, match=r"no such campaign .*allowed: new, 20261120T100000Z-aaaa, "
                                            r"20261121T100000Z-bbbb"):
        resolve(host, plan, "20261101T000000Z-cccc")
    with pytest.raises(CampaignError, match=r"campaign='last': not a campaign id; allowed: new"):
        resolve(host, plan, "last")


def test_ingest_puts_every_run_in_its_campaign(tmp_path: Path) -> None:
    from fwbench.dataset import ingest, query
    from fwbench.synthetic import base_cell, fake_system, make_record

    import numpy as np

    rng = np.random.default_rng(0)
    raw = tmp_path / "raw"
    system = fake_system("host-a")
    new_layout = raw / "default" / system["system_id"] / "20261129T223500Z-abcd"
    legacy = raw / "default" / system["system_id"]
    carried = make_record(base_cell(), rng=rng, median_ms=10.0, system=system, grid=GRID)
    carried["campaign_id"] = "20261129T223500Z-abcd"
    write_json_atomic(new_layout / carried["cell_id"] / "rep-0.json", carried)
    from_path = make_record(base_cell(), rng=rng, median_ms=10.0, system=system, grid=GRID, repetition=1)
    write_json_atomic(new_layout / from_path["cell_id"] / "rep-1.json", from_path)
    old = make_record(base_cell(phase="infer"), rng=rng, median_ms=5.0, system=system, grid=GRID)
    write_json_atomic(legacy / old["cell_id"] / "rep-0.json", old)
    meta = campaigns.campaign_record("20261129T223500Z-abcd", GRID, {"speed": 3, "accuracy": 0}, system, None,
                                     "2026-11-29T22:35:00+00:00")
    write_json_atomic(new_layout / campaigns.CAMPAIGN_FILE, meta)  # not a run: a row of `campaigns`
    result = ingest(raw, tmp_path / "results.duckdb")
    assert result.invalid == [] and result.n_files == 3
    rows = query("SELECT campaign_id, count(*) AS n FROM runs GROUP BY ALL ORDER BY ALL", tmp_path / "results.duckdb")
    assert rows.rows() == [("20261129T223500Z-abcd", 2), (campaigns.UNASSIGNED, 1)]
    listed = query("SELECT campaign_id, planned_speed, speed_runs, partial FROM campaigns", tmp_path / "results.duckdb")
    assert listed.rows() == [("20261129T223500Z-abcd", 3, 2, True)], "2 of 3 planned runs: the campaign is partial"


def test_an_invalid_campaign_record_is_reported_not_listed(tmp_path: Path) -> None:
    from fwbench.dataset import ingest, query

    raw = tmp_path / "raw"
    write_json_atomic(raw / "default" / "0123456789" / "20261129T223500Z-abcd" / campaigns.CAMPAIGN_FILE,
                      {"kind": "campaign"})
    result = ingest(raw, tmp_path / "results.duckdb")
    assert [p.path for p in result.invalid] == [f"default/0123456789/20261129T223500Z-abcd/{campaigns.CAMPAIGN_FILE}"]
    assert query("SELECT count(*) AS n FROM campaigns", tmp_path / "results.duckdb").item() == 0


def test_shipped_runs_live_in_campaigns_with_a_campaign_record() -> None:
    from fwbench.paths import RAW_DIR
    from fwbench.records import read_record

    pointers = sorted(RAW_DIR.glob("*/*/*.dvc"))
    assert pointers, "the shipped runs are DVC-tracked per campaign: data/raw/<grid>/<system>/<campaign>.dvc"
    assert not list(RAW_DIR.glob("*/*.dvc")), "no .dvc per host any more"
    for pointer in pointers:
        assert campaigns.is_campaign_id(pointer.stem)
        meta = pointer.with_suffix("") / campaigns.CAMPAIGN_FILE
        if meta.exists():  # after `dvc pull`
            record = read_record(meta, schema=campaigns.KIND)
            assert record["campaign_id"] == pointer.stem and record["system"]["system_id"] == pointer.parent.name
            assert json.loads(meta.read_text())["grid"]["name"] == pointer.parent.parent.name


def test_job_steps_take_the_campaign_their_planning_process_resolved(tmp_path: Path, plan: fwjobs.Plan) -> None:
    """On a cluster each job parses the workflow again, before the first one wrote campaign.json: the
    planner's new campaign is handed down (CAMPAIGN_ENV), never resolved anew into another one."""
    environ: dict[str, str] = {}
    planned, why = campaigns.resolve_for_workflow(tmp_path, plan, None, environ)
    assert why == "new campaign" and environ[campaigns.CAMPAIGN_ENV] == planned
    again, why = campaigns.resolve_for_workflow(tmp_path, plan, None, environ)  # a job step, nothing on disk yet
    assert again == planned and "handed down" in why
    with pytest.raises(CampaignError, match=campaigns.CAMPAIGN_ENV):
        campaigns.resolve_for_workflow(tmp_path, plan, None, {campaigns.CAMPAIGN_ENV: "not-an-id"})
