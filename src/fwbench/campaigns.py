"""Campaigns: one execution of a grid on one machine, the unit a verdict must survive.

A campaign has its own id (UTC start time plus a random nonce, so ids sort by time and two
hosts starting in the same second never collide) and its own raw directory,
data/raw/<grid>/<system-id>/<campaign-id>/<cell-id>/rep-<k>.json, with a campaign.json that
records the grid, the host's fingerprint and the machine's state when it started.

Reproducing means measuring a new campaign: the workflow resumes this host's newest unfinished
campaign of the grid (a crash loses nothing) and otherwise starts a new one; a finished
campaign is never redone. `--config campaign=<id>` resumes or extends a named campaign,
`campaign=new` starts one even when an unfinished one exists.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import MutableMapping
from typing import Any

from typing import TYPE_CHECKING

from fwbench.constants import SCHEMA_VERSION
from fwbench.records import read_record

if TYPE_CHECKING:  # the layout is read by ingest, which should not import the planning layer
    from fwbench.jobs import Job, Plan

CAMPAIGN_FILE = "campaign.json"
KIND = "campaign"
NEW = "new"
ID_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$")
#: Campaign of a record that carries none and sits outside a campaign directory (the pre-campaign layout).
UNASSIGNED = "unassigned"


class CampaignError(ValueError):
    """A campaign that cannot be used; names the campaign, the directory and the allowed values."""


def new_campaign_id(now: datetime | None = None, nonce: str | None = None) -> str:
    """'20261129T223500Z-3f9a': the UTC start second, then 4 random hex digits."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{nonce if nonce is not None else secrets.token_hex(2)}"


def is_campaign_id(text: str) -> bool:
    return bool(ID_PATTERN.match(text))


def host_dir(raw_root: str | os.PathLike[str], grid_name: str, system_id: str) -> Path:
    """data/raw/<grid>/<system-id>: every campaign of one grid on one host."""
    return Path(raw_root) / grid_name / system_id


def record_path(campaign_dir: str | os.PathLike[str], job: Job) -> str:
    """Where a job's record goes in a campaign's directory: <campaign-dir>/<cell-id>/rep-<k>.json."""
    return f"{os.fspath(campaign_dir)}/{job.cell_id}/rep-{job.repetition}.json"


def campaign_of_path(relative: str) -> str:
    """The campaign a record belongs to by where it lies: <grid>/<system>/<campaign>/<cell>/rep-k.json.

    Records of the pre-campaign layout (<grid>/<system>/<cell>/rep-k.json) are UNASSIGNED.
    """
    parts = Path(relative).parts
    return parts[2] if len(parts) == 5 and is_campaign_id(parts[2]) else UNASSIGNED


@dataclass(frozen=True)
class CampaignState:
    """One campaign directory of a host, and how much of a plan it holds."""

    campaign_id: str
    directory: Path
    planned: int  # jobs of the plan
    done: int  # of those, records present
    grid_hash: str | None  # from campaign.json (None when it has none)

    @property
    def finished(self) -> bool:
        return self.done >= self.planned


def campaign_dirs(host: Path) -> list[Path]:
    """The campaign directories under a host directory, oldest first (ids sort by start time)."""
    return sorted(p for p in host.iterdir() if p.is_dir() and is_campaign_id(p.name)) if host.is_dir() else []


def campaigns_of(host: Path, plan: Plan) -> list[CampaignState]:
    """The campaigns under a host directory, oldest first, with how many of the plan's records each has."""
    states = []
    for directory in campaign_dirs(host):
        meta = directory / CAMPAIGN_FILE
        grid_hash = read_record(meta, schema=KIND)["grid"]["hash"] if meta.is_file() else None
        done = sum(Path(record_path(directory, job)).is_file() for job in plan.jobs)
        states.append(CampaignState(directory.name, directory, len(plan.jobs), done, grid_hash))
    return states


def resolve(host: Path, plan: Plan, requested: str | None = None, now: datetime | None = None) -> tuple[str, str]:
    """(campaign id, why) for a run of `plan` on the host whose campaigns lie under `host`.

    requested None: the newest unfinished campaign of this grid version (its campaign.json has the
    plan's grid hash) is resumed, else a new one starts; NEW: a new one; an id: that campaign,
    resumed or extended by the plan's missing jobs (CampaignError if the host has no such campaign).
    """
    if requested == NEW:
        return new_campaign_id(now), "new campaign"
    states = campaigns_of(host, plan)
    if not requested:
        unfinished = [s for s in states if not s.finished and s.grid_hash in (plan.grid.hash, None)]
        if not unfinished:
            return new_campaign_id(now), "new campaign"
        last = unfinished[-1]
        return last.campaign_id, f"resuming unfinished campaign {last.campaign_id} ({last.done}/{last.planned} runs)"
    if not is_campaign_id(requested):
        raise CampaignError(f"--config campaign={requested!r}: not a campaign id; allowed: {NEW}, or an id like "
                            f"{new_campaign_id(now, 'abcd')} of a campaign under {host}")
    known = {s.campaign_id: s for s in states}
    if requested not in known:
        raise CampaignError(f"--config campaign={requested}: no such campaign under {host}; allowed: {NEW}"
                            + "".join(f", {cid}" for cid in known))
    state = known[requested]
    return requested, f"campaign {requested} as asked ({state.done}/{state.planned} runs present)"


#: The campaign a planning Snakemake process resolved, handed to its job steps: on a cluster each job
#: parses the workflow again (before campaign.json exists, for the first) and must measure the same one.
CAMPAIGN_ENV = "FWBENCH_CAMPAIGN"


def resolve_for_workflow(host: Path, plan: Plan, requested: str | None,
                         environ: MutableMapping[str, str] | None = None) -> tuple[str, str]:
    """resolve() in the planning process, which then hands its answer down in CAMPAIGN_ENV; a job
    step (CAMPAIGN_ENV set) takes the campaign handed down instead of resolving again."""
    environ = os.environ if environ is None else environ
    handed = environ.get(CAMPAIGN_ENV)
    if handed:
        if not is_campaign_id(handed):
            raise CampaignError(f"{CAMPAIGN_ENV}={handed!r}: not a campaign id (like {new_campaign_id(None, 'abcd')})")
        return handed, f"campaign {handed}, handed down by the planning process"
    campaign, why = resolve(host, plan, requested)
    environ[CAMPAIGN_ENV] = campaign
    return campaign, why


def campaign_record(campaign_id: str, grid: dict[str, Any], plan_counts: dict[str, int], system: dict[str, Any],
                    machine_state: dict[str, Any] | None, started_at: str,
                    migrated_from: str | None = None) -> dict[str, Any]:
    """The campaign.json of a campaign (workflow/schemas/campaign.schema.yaml)."""
    return {"schema_version": SCHEMA_VERSION, "kind": KIND, "campaign_id": campaign_id, "grid": grid,
            "planned_jobs": dict(plan_counts), "started_at": started_at, "migrated_from": migrated_from,
            "system": system, "machine_state": machine_state}
