"""`fwbench campaign`: start a campaign (its campaign.json) and list a host's campaigns of a grid.

The workflow's start_campaign rule calls `fwbench campaign start` before the campaign's first
run; `fwbench campaign list` shows which campaign the next `snakemake` would resume.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fwbench import campaigns
from fwbench.paths import GRIDS_DIR, RAW_DIR

if TYPE_CHECKING:  # the grid and planning modules load only when a campaign command runs
    from fwbench.jobs import Plan


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("campaign", help="start a campaign or list a host's campaigns of a grid",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--grids-dir", default=str(GRIDS_DIR), help="directory of grid files (default: %(default)s)")
    sub = parser.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    start = sub.add_parser("start", help="write a new campaign's campaign.json (fingerprint, machine state)")
    start.add_argument("grid", help="grid name or path")
    start.add_argument("--campaign", required=True, help="the campaign id (see `fwbench campaign list`)")
    start.add_argument("--out", required=True, type=Path, help="path of campaign.json")
    start.set_defaults(func=_start)
    listing = sub.add_parser("list", help="this host's campaigns of a grid, oldest first, with their progress")
    listing.add_argument("grid", help="grid name or path")
    listing.add_argument("--raw", default=str(RAW_DIR), type=Path, help="raw run directory (default: %(default)s)")
    listing.add_argument("--system-id", default=None, help="host (default: this host)")
    listing.add_argument("--newest", action="store_true",
                         help="print only the newest campaign's directory (for scripts, e.g. `make reference`)")
    listing.set_defaults(func=_list)


def _plan(args: argparse.Namespace) -> Plan | None:
    from fwbench import grid as fwgrid
    from fwbench import jobs

    try:
        return jobs.plan(fwgrid.load_grid(args.grid, grids_dir=args.grids_dir))
    except fwgrid.GridError as exc:
        print(f"fwbench campaign: {exc}", file=sys.stderr)
        return None


def _start(args: argparse.Namespace) -> int:
    from fwbench.harness.fingerprint import system_fingerprint
    from fwbench.harness.machine_state import campaign_machine_state
    from fwbench.harness.record import utc_now
    from fwbench.records import write_json_atomic, validate_record

    if not campaigns.is_campaign_id(args.campaign):
        print(f"fwbench campaign start: --campaign {args.campaign!r}: not a campaign id; allowed: an id like "
              f"{campaigns.new_campaign_id(nonce='abcd')}", file=sys.stderr)
        return 2
    if args.out.exists():
        print(f"fwbench campaign start: {args.out} exists; a campaign is started once", file=sys.stderr)
        return 2
    plan = _plan(args)
    if plan is None:
        return 2
    grid = plan.grid
    record = campaigns.campaign_record(
        args.campaign, grid.ref().as_record(), plan.counts(),
        system_fingerprint(), campaign_machine_state(), utc_now())
    validate_record(record, source=str(args.out), schema=campaigns.KIND)
    write_json_atomic(args.out, record)
    print(f"campaign {args.campaign} of grid {grid.name} started -> {args.out}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from fwbench.harness.fingerprint import system_id

    plan = _plan(args)
    if plan is None:
        return 2
    sid = args.system_id or system_id()
    host = campaigns.host_dir(args.raw, plan.grid.name, sid)
    if args.newest:
        states = campaigns.campaigns_of(host, plan)
        if not states:
            print(f"fwbench campaign list: no campaign of grid {plan.grid.name} under {host}", file=sys.stderr)
            return 1
        print(states[-1].directory)
        return 0
    print("campaign_id\truns\tplanned\tstatus")
    for state in campaigns.campaigns_of(host, plan):
        status = "finished" if state.finished else "unfinished"
        if state.grid_hash not in (None, plan.grid.hash):
            status += " (another version of the grid)"
        print(f"{state.campaign_id}\t{state.done}\t{state.planned}\t{status}")
    campaign, why = campaigns.resolve(host, plan)
    print(f"next run: {why}" + ("" if why.startswith("resuming") else f" ({campaign})"))
    return 0
