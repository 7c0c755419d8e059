"""`fwbench campaign`: start, list, pack and import campaigns.

The workflow's start_campaign rule calls `fwbench campaign start` before the campaign's first
run; `fwbench campaign list` shows which campaign the next `snakemake` would resume; `pack`
writes a finished campaign to one checked file a contributor can send, and `import` checks such
a file (or a bare campaign tarball with its sha256 list) and adds it to data/raw/ and DVC.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fwbench import campaigns
from fwbench.paths import GRIDS_DIR, RAW_DIR

if TYPE_CHECKING:  # the grid and planning modules load only when a campaign command runs
    from fwbench.jobs import Plan


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("campaign", help="start, list, pack or import campaigns",
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
    packing = sub.add_parser("pack", help="write this host's campaign, checked, with a manifest, to one .tar.gz")
    packing.add_argument("grid", nargs="?", default="default", help="grid name (default: %(default)s)")
    packing.add_argument("--campaign", default=None, help="campaign id (default: this host's newest of the grid)")
    packing.add_argument("--from", dest="source", default=None, type=Path,
                         help="a campaign directory to pack instead (data/raw/<grid>/<system>/<campaign>)")
    packing.add_argument("--raw", default=str(RAW_DIR), type=Path, help="raw run directory (default: %(default)s)")
    packing.add_argument("--partial", action="store_true", help="pack an unfinished campaign (the manifest says so)")
    packing.add_argument("--out", required=True, type=Path, help="the archive to write (.tar.gz)")
    packing.set_defaults(func=_pack)
    importing = sub.add_parser("import", help="check a packed campaign (or a bare campaign tarball) and add it")
    importing.add_argument("archive", type=Path, help="a file made by `fwbench campaign pack`, or a tarball of one "
                                                      "campaign directory with --sha256")
    importing.add_argument("--sha256", default=None, type=Path,
                           help="sha256sum list of a bare tarball's records (paths relative to the campaign)")
    importing.add_argument("--raw", default=str(RAW_DIR), type=Path, help="raw run directory (default: %(default)s)")
    importing.add_argument("--no-dvc", action="store_true", help="place the files only; skip `dvc add`")
    importing.set_defaults(func=_import)
    hint = sub.add_parser("hint", help="after `make reproduce`: how to share this host's campaign if its class is new")
    hint.add_argument("grid", nargs="?", default="default", help="grid name (default: %(default)s)")
    hint.add_argument("--raw", default=str(RAW_DIR), type=Path, help="raw run directory (default: %(default)s)")
    hint.set_defaults(func=_hint)


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


def _newest_campaign(raw: Path, grid: str, system: str) -> Path | None:
    found = campaigns.campaign_dirs(campaigns.host_dir(raw, grid, system))
    return found[-1] if found else None


def _pack(args: argparse.Namespace) -> int:
    from fwbench import campaign_archive
    from fwbench.harness.fingerprint import system_id
    from fwbench.harness.record import utc_now

    if args.source is not None:
        directory = args.source
    elif args.campaign is not None:
        directory = campaigns.host_dir(args.raw, args.grid, system_id()) / args.campaign
    else:
        directory = _newest_campaign(args.raw, args.grid, system_id())
        if directory is None:
            print(f"fwbench campaign pack: no campaign of grid {args.grid} from this host under {args.raw}; "
                  f"measure one (`make reproduce`) or name one with --from", file=sys.stderr)
            return 2
    try:
        manifest = campaign_archive.pack(directory, args.out, args.partial, utc_now())
    except campaign_archive.ArchiveError as exc:
        print(f"fwbench campaign pack: {exc}", file=sys.stderr)
        return 2
    state = "partial: " + "; ".join(manifest["missing"]) if manifest["partial"] else "finished"
    print(f"packed campaign {manifest['campaign_id']} of grid {manifest['grid']['name']} on {manifest['system_id']} "
          f"({manifest['hardware_class']}, {sum(manifest['present_jobs'].values())} runs, {state}) -> {args.out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    import subprocess

    from fwbench import campaign_archive

    try:
        result = campaign_archive.import_campaign(args.archive, args.raw, args.sha256)
    except (campaign_archive.ArchiveError, OSError) as exc:
        print(f"fwbench campaign import: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"note: {note}")
    if result.already_present:
        print(f"campaign {result.directory.name} is already in {result.directory} with the same files; nothing to do")
        return 0
    print(f"imported {result.runs} runs -> {result.directory}")
    if args.no_dvc:
        return 0
    dvc = Path(sys.executable).with_name("dvc")
    done = subprocess.run([str(dvc) if dvc.exists() else "dvc", "add", "--quiet", str(result.directory)], check=False)
    if done.returncode != 0:
        print(f"fwbench campaign import: `dvc add {result.directory}` failed (exit {done.returncode}); the files are "
              f"placed, run it again by hand", file=sys.stderr)
        return 1
    where = Path(os.path.relpath(result.directory))
    print(f"then: dvc push && git add {where}.dvc {where.parent}/.gitignore data/dvc-store")
    return 0


def shipped_classes(raw: Path) -> set[str]:
    """The hardware classes of the campaigns the dataset ships (those with a .dvc pointer beside them)."""
    from fwbench.harness.hardware_class import hardware_class
    from fwbench.records import RecordError, read_record

    classes = set()
    for meta in raw.glob(f"*/*/*/{campaigns.CAMPAIGN_FILE}"):
        if not meta.parent.with_name(f"{meta.parent.name}.dvc").is_file():
            continue
        try:
            classes.add(hardware_class(read_record(meta, schema=campaigns.KIND)["system"]))
        except RecordError:
            continue  # ingest reports it
    return classes


def _hint(args: argparse.Namespace) -> int:
    from fwbench.harness.fingerprint import system_fingerprint
    from fwbench.harness.hardware_class import hardware_class

    system = system_fingerprint()
    mine = hardware_class(system)
    directory = _newest_campaign(args.raw, args.grid, system["system_id"])
    if directory is None or mine in shipped_classes(args.raw):
        return 0
    print(f"This host ({system['system_id']}, class {mine}) is a hardware class the dataset does not have yet. "
          f"Please share its campaign:")
    print(f"  .venv/bin/fwbench campaign pack {args.grid} --campaign {directory.name} --out "
          f"{args.grid}-{system['system_id']}-{directory.name}.tar.gz")
    print("  then send the file or attach it to a pull request (README: Contribute your machine)")
    return 0
