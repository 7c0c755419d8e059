"""One file per campaign: pack a campaign with a manifest, and import such a file (or a bare tarball).

A contributor without write access to our DVC remote packs the campaign they measured into one
.tar.gz; a maintainer imports it. The archive is untrusted input, so import reads every member
into memory (never `extractall`), refuses links, special files and paths that leave the campaign
directory, checks every file's sha256 against the manifest (or, for a bare tarball made with plain
`tar`, against a sha256 list beside it), validates every record and campaign.json against its
schema, and checks that each record lies where its campaign, cell and repetition say and that its
system id is the hash of the fingerprint it carries. Only then are the files written, to a
temporary directory renamed into data/raw/<grid>/<system>/<campaign>/ in one step.

Archive layout (pack): manifest.json, then <grid>/<system>/<campaign>/campaign.json and
<grid>/<system>/<campaign>/<cell-id>/rep-<k>.json.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from fwbench import campaigns
from fwbench.constants import SCHEMA_VERSION
from fwbench.dataset.validate import check_record
from fwbench.harness.fingerprint import hardware_id
from fwbench.harness.hardware_class import hardware_class
from fwbench.records import RecordError, validate_record

MANIFEST = "manifest.json"
KIND = "campaign_archive"
REP_PATTERN = re.compile(r"^rep-([0-9]+)\.json$")
CELL_PATTERN = re.compile(r"^[0-9a-f]{12}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: Bounds on an untrusted archive: records are a few kB, a campaign a few thousand of them.
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_MEMBERS = 100_000


class ArchiveError(ValueError):
    """An archive that cannot be packed or imported; names the file, the member and what is allowed."""


@dataclass(frozen=True)
class Campaign:
    """A campaign's files, in memory, keyed by their path inside the campaign directory."""

    grid: str
    system_id: str
    campaign_id: str
    files: dict[str, bytes]

    @property
    def relative_dir(self) -> PurePosixPath:
        return PurePosixPath(self.grid, self.system_id, self.campaign_id)

    @property
    def records(self) -> dict[str, bytes]:
        return {name: data for name, data in self.files.items() if name != campaigns.CAMPAIGN_FILE}


@dataclass(frozen=True)
class CheckedCampaign:
    """What checking a campaign read: its campaign.json and its run records, parsed once."""

    meta: dict[str, Any]
    runs: list[dict[str, Any]]


@dataclass(frozen=True)
class ImportResult:
    """Where an import placed a campaign, or that it was there already."""

    directory: Path
    runs: int
    already_present: bool
    notes: list[str] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- checking a campaign (pack and import)

def _load_json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveError(f"{where}: not valid JSON ({exc})") from exc


def _check_fingerprint(system: Any, where: str) -> str:
    """The record's system id, after checking it is the hash of the fingerprint it carries."""
    if not isinstance(system, dict) or not isinstance(system.get("system_id"), str):
        raise ArchiveError(f"{where}: system.system_id: missing; a record carries its host's fingerprint")
    version = system.get("fingerprint_version", 1)
    try:
        expected = hardware_id(system, version)
    except (KeyError, TypeError) as exc:
        raise ArchiveError(f"{where}: system.fingerprint_version: {version!r} is not a known version") from exc
    if system["system_id"] != expected:
        raise ArchiveError(f"{where}: system.system_id: {system['system_id']!r} is not the hash of the fingerprint "
                           f"it carries ({expected!r}); the record was edited or made on another host")
    return expected


def check_campaign(campaign: Campaign, source: str) -> CheckedCampaign:
    """campaign.json and every record, checked against their schemas and against where they lie."""
    where = f"{source}: {campaign.relative_dir}"
    if not campaigns.is_campaign_id(campaign.campaign_id):
        raise ArchiveError(f"{where}: {campaign.campaign_id!r} is not a campaign id (like "
                           f"{campaigns.new_campaign_id(nonce='abcd')})")
    meta_bytes = campaign.files.get(campaigns.CAMPAIGN_FILE)
    if meta_bytes is None:
        raise ArchiveError(f"{where}: no {campaigns.CAMPAIGN_FILE}; a campaign starts with one (fwbench campaign start)")
    meta = _load_json(meta_bytes, f"{where}/{campaigns.CAMPAIGN_FILE}")
    try:
        validate_record(meta, source=f"{where}/{campaigns.CAMPAIGN_FILE}", schema=campaigns.KIND)
    except RecordError as exc:
        raise ArchiveError(str(exc)) from exc
    _expect(meta["campaign_id"], campaign.campaign_id, f"{where}/{campaigns.CAMPAIGN_FILE}: campaign_id")
    _expect(meta["grid"]["name"], campaign.grid, f"{where}/{campaigns.CAMPAIGN_FILE}: grid.name")
    _expect(_check_fingerprint(meta["system"], f"{where}/{campaigns.CAMPAIGN_FILE}"), campaign.system_id,
            f"{where}/{campaigns.CAMPAIGN_FILE}: system.system_id")
    runs = []
    for name, data in sorted(campaign.records.items()):
        runs.append(_load_json(data, f"{where}/{name}"))
        _check_run(name, runs[-1], campaign, f"{where}/{name}")
    return CheckedCampaign(meta, runs)


def _expect(actual: Any, expected: Any, what: str) -> None:
    if actual != expected:
        raise ArchiveError(f"{what}: {actual!r} does not match where the file lies ({expected!r})")


def _check_run(name: str, record: Any, campaign: Campaign, where: str) -> None:
    parts = PurePosixPath(name).parts
    rep = REP_PATTERN.match(parts[-1]) if len(parts) == 2 else None
    if rep is None or not CELL_PATTERN.match(parts[0]):
        raise ArchiveError(f"{where}: not a run record's place; allowed: {campaigns.CAMPAIGN_FILE} and "
                           f"<cell-id>/rep-<k>.json")
    problem = check_record(record, where)
    if problem is not None:
        raise ArchiveError(str(problem))
    _expect(record.get("campaign_id"), campaign.campaign_id, f"{where}: campaign_id")
    _expect(record["cell_id"], parts[0], f"{where}: cell_id")
    _expect(record["repetition"], int(rep.group(1)), f"{where}: repetition")
    _expect((record.get("grid") or {}).get("name"), campaign.grid, f"{where}: grid.name")
    _expect(_check_fingerprint(record["system"], where), campaign.system_id, f"{where}: system.system_id")


# ---------------------------------------------------------------- pack

def read_campaign_dir(directory: Path) -> Campaign:
    """A campaign directory data/raw/<grid>/<system>/<campaign>/ read into memory (its .json files)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ArchiveError(f"{directory}: no such campaign directory")
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.is_symlink() or not path.is_file():
            raise ArchiveError(f"{path}: not a regular file; a campaign holds only JSON records")
        files[path.relative_to(directory).as_posix()] = path.read_bytes()
    meta = _load_json(files[campaigns.CAMPAIGN_FILE], str(directory / campaigns.CAMPAIGN_FILE)) \
        if campaigns.CAMPAIGN_FILE in files else {}
    grid = meta.get("grid", {}).get("name") or directory.parent.parent.name
    system = meta.get("system", {}).get("system_id") or directory.parent.name
    return Campaign(grid, system, directory.name, files)


def missing_runs(checked: CheckedCampaign) -> list[str]:
    """What a campaign lacks of its plan: each kind's 'speed: 113 of 196'; empty when finished."""
    present = Counter(run["kind"] for run in checked.runs)
    return [f"{kind}: {present.get(kind, 0)} of {planned} runs present"
            for kind, planned in sorted(checked.meta["planned_jobs"].items()) if present.get(kind, 0) < planned]


def _machine_values(runs: list[dict[str, Any]], key: str) -> list[float]:
    """The runs' recorded machine_state[key] (runs made before it was recorded have none)."""
    return [run["machine_state"][key] for run in runs
            if isinstance(run.get("machine_state"), dict) and run["machine_state"].get(key) is not None]


def manifest(campaign: Campaign, checked: CheckedCampaign, packed_at: str) -> dict[str, Any]:
    """What a maintainer reads before importing: host, class, plan vs present, commits, machine state."""
    meta, runs = checked.meta, checked.runs
    canary, steal = _machine_values(runs, "canary_ms"), _machine_values(runs, "steal_pct")
    missing = missing_runs(checked)
    return {
        "schema_version": SCHEMA_VERSION, "kind": KIND, "packed_at": packed_at,
        "grid": meta["grid"], "system_id": campaign.system_id, "campaign_id": campaign.campaign_id,
        "hardware_class": hardware_class(meta["system"]), "fingerprint": meta["system"],
        "planned_jobs": meta["planned_jobs"], "present_jobs": dict(sorted(Counter(r["kind"] for r in runs).items())),
        "partial": bool(missing), "missing": missing,
        "status_counts": dict(sorted(Counter(r["status"] for r in runs).items())),
        "git_commits": sorted({str(r["system"].get("git_commit")) for r in runs}),
        "machine_state": {"canary_ms_median": statistics.median(canary) if canary else None,
                          "steal_pct_median": statistics.median(steal) if steal else None,
                          "steal_pct_max": max(steal) if steal else None},
        "files": {f"{campaign.relative_dir}/{name}": sha256(data) for name, data in sorted(campaign.files.items())},
    }


def pack(directory: Path, out: Path, partial: bool, packed_at: str) -> dict[str, Any]:
    """Check a campaign directory and write it, with its manifest, to `out` (atomically); the manifest."""
    campaign = read_campaign_dir(directory)
    checked = check_campaign(campaign, str(directory))
    missing = missing_runs(checked)
    if missing and not partial:
        raise ArchiveError(f"{directory}: campaign {campaign.campaign_id} is unfinished ({'; '.join(missing)}); "
                           f"finish it (`snakemake --cores all --config campaign={campaign.campaign_id}`) or pack "
                           f"it with --partial")
    record = manifest(campaign, checked, packed_at)
    validate_record(record, source=MANIFEST, schema=KIND)
    members = {MANIFEST: _json_bytes(record)}
    members.update({f"{campaign.relative_dir}/{name}": data for name, data in sorted(campaign.files.items())})
    _write_tar_atomic(Path(out), members)
    return record


def _json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _write_tar_atomic(out: Path, members: dict[str, bytes]) -> None:
    """A reproducible .tar.gz (fixed mtimes, owners and modes) written via a temp file and a rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- import

def _safe_name(name: str, source: str) -> PurePosixPath:
    """A member's path, refused when absolute, with '..', or with parts other than plain names."""
    path = PurePosixPath(name)
    if path.is_absolute() or "\\" in name:
        raise ArchiveError(f"{source}: member {name!r}: an absolute path; allowed: paths inside the campaign")
    parts = [p for p in path.parts if p != "."]
    if any(p == ".." for p in parts):
        raise ArchiveError(f"{source}: member {name!r}: '..' leaves the campaign directory; refused")
    if any(not NAME_PATTERN.match(p) for p in parts):
        raise ArchiveError(f"{source}: member {name!r}: a path part that is not a plain name (letters, digits, . _ -)")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def read_archive(path: Path) -> dict[PurePosixPath, bytes]:
    """Every regular file of a .tar.gz, in memory; links, devices and unsafe paths refused."""
    source = str(path)
    files: dict[PurePosixPath, bytes] = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for count, member in enumerate(tar):
                if count >= MAX_MEMBERS:
                    raise ArchiveError(f"{source}: more than {MAX_MEMBERS} members; not a campaign")
                name = _safe_name(member.name, source)
                if member.isdir():
                    continue
                if not member.isreg():
                    kind = "a symlink" if member.issym() else "a hard link" if member.islnk() else "not a regular file"
                    raise ArchiveError(f"{source}: member {member.name!r} is {kind}; allowed: regular files only")
                if member.size > MAX_MEMBER_BYTES:
                    raise ArchiveError(f"{source}: member {member.name!r}: {member.size} bytes, above the "
                                       f"{MAX_MEMBER_BYTES} a record may have")
                if name in files:
                    raise ArchiveError(f"{source}: member {member.name!r} appears twice")
                handle = tar.extractfile(member)
                files[name] = handle.read() if handle else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{source}: not a readable tar archive ({exc})") from exc
    return files


def read_sha256_list(path: Path) -> dict[PurePosixPath, str]:
    """A `sha256sum` list ('<hex>  ./<cell>/rep-k.json' per line) as path -> digest."""
    digests = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{path}: not a text sha256 list ({exc})") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = re.match(r"^([0-9a-f]{64}) [ *](.+)$", line.strip())
        if match is None:
            raise ArchiveError(f"{path}: line {number}: not '<sha256>  <path>' (the format of sha256sum)")
        digests[_safe_name(match.group(2), str(path))] = match.group(1)
    return digests


def _verify(files: dict[PurePosixPath, bytes], digests: dict[PurePosixPath, str], source: str,
            unlisted_ok: frozenset[PurePosixPath] = frozenset()) -> None:
    for name, data in sorted(files.items()):
        if name not in digests:
            if name in unlisted_ok:
                continue
            raise ArchiveError(f"{source}: member {name}: not listed with a sha256; refused")
        if sha256(data) != digests[name]:
            raise ArchiveError(f"{source}: member {name}: sha256 {sha256(data)} does not match the listed "
                               f"{digests[name]}; the file changed after it was listed")
    absent = sorted(set(digests) - set(files))
    if absent:
        raise ArchiveError(f"{source}: {len(absent)} listed file(s) missing from the archive, e.g. {absent[0]}")


def campaign_from_archive(path: Path, sha256_list: Path | None = None) -> tuple[Campaign, list[str]]:
    """The campaign an archive holds, its hashes verified, and notes for the importer.

    A packed archive has manifest.json at its top; a bare tarball (plain `tar` of a campaign
    directory) needs `sha256_list`, whose paths are relative to the campaign directory.
    """
    files = read_archive(path)
    source = str(path)
    if PurePosixPath(MANIFEST) in files:
        record = _load_json(files.pop(PurePosixPath(MANIFEST)), f"{source}: {MANIFEST}")
        try:
            validate_record(record, source=f"{source}: {MANIFEST}", schema=KIND)
        except RecordError as exc:
            raise ArchiveError(str(exc)) from exc
        digests = {_safe_name(name, f"{source}: {MANIFEST}"): digest for name, digest in record["files"].items()}
        _verify(files, digests, source)
        prefix = PurePosixPath(record["grid"]["name"], record["system_id"], record["campaign_id"])
        inside = _strip(files, prefix, source)
        return Campaign(record["grid"]["name"], record["system_id"], record["campaign_id"], inside), []
    if sha256_list is None:
        raise ArchiveError(f"{source}: no {MANIFEST} (not made by `fwbench campaign pack`); a bare campaign tarball "
                           f"needs its sha256 list: --sha256 FILE")
    roots = {name.parts[0] for name in files if len(name.parts) > 1}
    if len(roots) != 1 or not campaigns.is_campaign_id(next(iter(roots))):
        raise ArchiveError(f"{source}: a bare tarball holds one campaign directory <campaign-id>/...; found top-level "
                           f"entries {sorted(roots) or sorted(str(n) for n in files)}")
    campaign_id = roots.pop()
    inside = _strip(files, PurePosixPath(campaign_id), source)
    meta_name = PurePosixPath(campaigns.CAMPAIGN_FILE)
    digests = read_sha256_list(sha256_list)
    _verify({PurePosixPath(n): d for n, d in inside.items()}, digests, source, unlisted_ok=frozenset({meta_name}))
    notes = [] if meta_name in digests else [
        f"{campaigns.CAMPAIGN_FILE} is not in {sha256_list}: it was checked by its schema and its fingerprint only"]
    meta = _load_json(inside.get(campaigns.CAMPAIGN_FILE, b"{}"), f"{source}: {campaigns.CAMPAIGN_FILE}")
    meta = meta if isinstance(meta, dict) else {}
    grid = meta.get("grid", {}).get("name") if isinstance(meta.get("grid"), dict) else None
    system = meta.get("system", {}).get("system_id") if isinstance(meta.get("system"), dict) else None
    if not all(isinstance(name, str) and NAME_PATTERN.match(name) for name in (grid, system)):
        raise ArchiveError(f"{source}: {campaign_id}/{campaigns.CAMPAIGN_FILE}: grid.name and system.system_id are "
                           f"needed to place the campaign")
    return Campaign(grid, system, campaign_id, inside), notes


def _strip(files: dict[PurePosixPath, bytes], prefix: PurePosixPath, source: str) -> dict[str, bytes]:
    inside = {}
    for name, data in files.items():
        if name.parts[:len(prefix.parts)] != prefix.parts or len(name.parts) == len(prefix.parts):
            raise ArchiveError(f"{source}: member {name} lies outside the campaign directory {prefix}/")
        inside[PurePosixPath(*name.parts[len(prefix.parts):]).as_posix()] = data
    return inside


def import_campaign(path: Path, raw_root: Path, sha256_list: Path | None = None) -> ImportResult:
    """Check an archive completely, then place its campaign atomically under raw_root.

    An existing campaign with the same files is left as it is (already_present); one with other
    content is refused. Nothing is written unless every check passed.
    """
    campaign, notes = campaign_from_archive(Path(path), sha256_list)
    check_campaign(campaign, str(path))
    target = Path(raw_root) / campaign.relative_dir
    if target.exists():
        existing = read_campaign_dir(target).files
        if existing == campaign.files:
            return ImportResult(target, len(campaign.records), True, notes)
        differ = sorted(set(existing) ^ set(campaign.files)) or \
            sorted(n for n in existing if existing[n] != campaign.files[n])
        raise ArchiveError(f"{path}: campaign {campaign.campaign_id} already exists in {target} with other content "
                           f"(e.g. {differ[0]}); refused, nothing written")
    if Path(f"{target}.dvc").exists():
        raise ArchiveError(f"{path}: {target}.dvc exists but the directory does not: run `dvc pull` first")
    _place(target, campaign.files)
    return ImportResult(target, len(campaign.records), False, notes)


def _place(target: Path, files: dict[str, bytes]) -> None:
    """Write every file into a temporary sibling directory, then rename it to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".import-{target.name}-", dir=target.parent))
    try:
        for name, data in files.items():
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            with open(destination, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
