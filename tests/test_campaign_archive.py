"""`fwbench campaign pack` / `import`: a round trip keeps every byte, and each unsafe archive is refused."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fwbench import campaign_archive as archive
from fwbench import campaigns
from fwbench.cli import main
from fwbench.harness.fingerprint import hardware_id
from fwbench.synthetic import base_cell, fake_system, make_record

GRID = {"name": "smoke", "version": 1, "hash": "0123456789ab"}
CAMPAIGN = "20261203T120000Z-beef"
STARTED = "2026-12-03T12:00:00+00:00"


def _system() -> dict[str, Any]:
    system = fake_system("archive-host")
    system["system_id"] = hardware_id(system, 1)  # a record's id is the hash of its fingerprint
    return system


def _campaign_dir(raw: Path, reps: int = 2, planned: int = 2) -> Path:
    system = _system()
    directory = campaigns.host_dir(raw, GRID["name"], system["system_id"]) / CAMPAIGN
    directory.mkdir(parents=True)
    meta = campaigns.campaign_record(CAMPAIGN, GRID, {"speed": planned}, system, None, STARTED)
    (directory / campaigns.CAMPAIGN_FILE).write_text(json.dumps(meta))
    rng = np.random.default_rng(0)
    for rep in range(reps):
        record = make_record(base_cell(), rng=rng, median_ms=10.0, system=system, grid=GRID, repetition=rep)
        record["campaign_id"] = CAMPAIGN
        path = directory / record["cell_id"] / f"rep-{rep}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(record, indent=1))
    return directory


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}


def _write_tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def _rehashed(members: dict[str, bytes]) -> dict[str, bytes]:
    """The members with the manifest's hashes recomputed: only the schema or the fingerprint can catch them."""
    manifest = json.loads(members[archive.MANIFEST])
    manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()
                         if name != archive.MANIFEST}
    return {**members, archive.MANIFEST: json.dumps(manifest).encode()}


@pytest.fixture()
def packed(tmp_path: Path) -> Path:
    source = _campaign_dir(tmp_path / "contributor")
    out = tmp_path / "campaign.tar.gz"
    archive.pack(source, out, partial=False, packed_at=STARTED)
    return out


def _record_member(members: dict[str, bytes]) -> str:
    return next(name for name in members if name.endswith("rep-0.json"))


def test_round_trip_is_byte_identical_and_reimport_is_a_no_op(tmp_path: Path, packed: Path, capsys) -> None:
    source = _campaign_dir(tmp_path / "again")
    raw = tmp_path / "raw"
    assert main(["campaign", "import", str(packed), "--raw", str(raw), "--no-dvc"]) == 0
    placed = raw / GRID["name"] / _system()["system_id"] / CAMPAIGN
    assert _files(placed) == _files(source)
    assert main(["campaign", "import", str(packed), "--raw", str(raw), "--no-dvc"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert _files(placed) == _files(source)
    assert not [p for p in placed.parent.iterdir() if p.name.startswith(".import-")]


def test_manifest_says_what_the_archive_holds(packed: Path) -> None:
    manifest = json.loads(_members(packed)[archive.MANIFEST])
    assert manifest["system_id"] == _system()["system_id"]
    assert manifest["present_jobs"] == {"speed": 2} and manifest["partial"] is False and manifest["missing"] == []
    assert manifest["status_counts"] == {"ok": 2}
    assert manifest["hardware_class"] == "unknown"  # the synthetic fingerprint records no CPU flags
    assert len(manifest["files"]) == 3


def test_an_unfinished_campaign_is_packed_only_when_partial(tmp_path: Path, capsys) -> None:
    source = _campaign_dir(tmp_path / "raw", reps=2, planned=3)
    out = tmp_path / "c.tar.gz"
    assert main(["campaign", "pack", "--from", str(source), "--out", str(out)]) == 2
    assert "speed: 2 of 3 runs present" in capsys.readouterr().err and not out.exists()
    assert main(["campaign", "pack", "--from", str(source), "--partial", "--out", str(out)]) == 0
    assert json.loads(_members(out)[archive.MANIFEST])["missing"] == ["speed: 2 of 3 runs present"]


def _refused(tmp_path: Path, path: Path, capsys, *extra: str) -> str:
    raw = tmp_path / "raw"
    assert main(["campaign", "import", str(path), "--raw", str(raw), "--no-dvc", *extra]) == 2
    assert not raw.exists() or not any(p.is_file() for p in raw.rglob("*")), "a refused import wrote files"
    return capsys.readouterr().err


def test_a_tampered_record_is_refused(tmp_path: Path, packed: Path, capsys) -> None:
    members = _members(packed)
    name = _record_member(members)
    members[name] = members[name].replace(b'"status": "ok"', b'"status": "ok" ')
    err = _refused(tmp_path, _write_tar(tmp_path / "t.tar.gz", members), capsys)
    assert name in err and "does not match" in err


def test_a_path_leaving_the_campaign_is_refused(tmp_path: Path, packed: Path, capsys) -> None:
    members = _members(packed)
    members["default/../../evil.json"] = b"{}"
    err = _refused(tmp_path, _write_tar(tmp_path / "t.tar.gz", _rehashed(members)), capsys)
    assert "'..' leaves the campaign directory" in err


def test_an_absolute_path_is_refused(tmp_path: Path, packed: Path, capsys) -> None:
    members = {**_members(packed), "/etc/evil.json": b"{}"}
    assert "an absolute path" in _refused(tmp_path, _write_tar(tmp_path / "t.tar.gz", members), capsys)


def test_a_symlink_is_refused(tmp_path: Path, packed: Path, capsys) -> None:
    members = _members(packed)
    link = _record_member(members).replace("rep-0", "rep-9")
    err = _refused(tmp_path, _write_tar(tmp_path / "t.tar.gz", members, links={link: "/etc/passwd"}), capsys)
    assert "is a symlink" in err


def test_a_schema_failure_is_refused_with_its_field(tmp_path: Path, packed: Path, capsys) -> None:
    members = _members(packed)
    name = _record_member(members)
    record = json.loads(members[name])
    record["status"] = "fine"
    members[name] = json.dumps(record).encode()
    err = _refused(tmp_path, _write_tar(tmp_path / "t.tar.gz", _rehashed(members)), capsys)
    assert "status" in err and "allowed" in err


def test_a_system_id_that_is_not_its_fingerprints_hash_is_refused(tmp_path: Path, packed: Path, capsys) -> None:
    members = _members(packed)
    name = _record_member(members)
    record = json.loads(members[name])
    record["system"]["host_processor_core_count"] = 64  # another host's fingerprint under this host's id
    members[name] = json.dumps(record).encode()
    err = _refused(tmp_path, _write_tar(tmp_path / "t.tar.gz", _rehashed(members)), capsys)
    assert "is not the hash of the fingerprint" in err


def test_a_record_elsewhere_than_its_cell_and_repetition_is_refused(tmp_path: Path, packed: Path, capsys) -> None:
    members = _members(packed)
    name = _record_member(members)
    members[name.replace("rep-0", "rep-7")] = members.pop(name)
    err = _refused(tmp_path, _write_tar(tmp_path / "t.tar.gz", _rehashed(members)), capsys)
    assert "repetition" in err


def test_a_duplicate_campaign_id_with_other_content_is_refused(tmp_path: Path, packed: Path, capsys) -> None:
    raw = tmp_path / "raw"
    assert main(["campaign", "import", str(packed), "--raw", str(raw), "--no-dvc"]) == 0
    placed = raw / GRID["name"] / _system()["system_id"] / CAMPAIGN
    before = _files(placed)
    other = tmp_path / "other"
    source = _campaign_dir(other, reps=3, planned=3)
    archive.pack(source, tmp_path / "other.tar.gz", partial=False, packed_at=STARTED)
    assert main(["campaign", "import", str(tmp_path / "other.tar.gz"), "--raw", str(raw), "--no-dvc"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert _files(placed) == before


def test_a_bare_tarball_imports_with_its_sha256_list(tmp_path: Path, capsys) -> None:
    source = _campaign_dir(tmp_path / "contributor")
    bare = {f"{CAMPAIGN}/{name}": data for name, data in _files(source).items()}
    tarball = _write_tar(tmp_path / "bare.tar.gz", bare)
    listing = tmp_path / "bare.sha256"
    listing.write_text("".join(f"{hashlib.sha256(d).hexdigest()}  ./{n}\n" for n, d in _files(source).items()
                               if n != campaigns.CAMPAIGN_FILE))
    assert "--sha256" in _refused(tmp_path, tarball, capsys)
    raw = tmp_path / "raw"
    assert main(["campaign", "import", str(tarball), "--sha256", str(listing), "--raw", str(raw), "--no-dvc"]) == 0
    assert "checked by its schema and its fingerprint only" in capsys.readouterr().out
    assert _files(raw / GRID["name"] / _system()["system_id"] / CAMPAIGN) == _files(source)


def test_a_bare_tarball_with_an_unlisted_record_is_refused(tmp_path: Path, capsys) -> None:
    source = _campaign_dir(tmp_path / "contributor")
    files = _files(source)
    tarball = _write_tar(tmp_path / "bare.tar.gz", {f"{CAMPAIGN}/{n}": d for n, d in files.items()})
    listing = tmp_path / "bare.sha256"
    first = next(n for n in files if n.endswith("rep-0.json"))
    listing.write_text(f"{hashlib.sha256(files[first]).hexdigest()}  ./{first}\n")
    assert "not listed with a sha256" in _refused(tmp_path, tarball, capsys, "--sha256", str(listing))


def test_reproduce_asks_a_host_of_a_new_class_to_share_its_campaign(tmp_path: Path, capsys) -> None:
    from fwbench.harness.fingerprint import system_id

    raw = tmp_path / "raw"
    mine = campaigns.host_dir(raw, "default", system_id()) / CAMPAIGN
    mine.mkdir(parents=True)
    assert main(["campaign", "hint", "--raw", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "does not have yet" in out and f"campaign pack default --campaign {CAMPAIGN}" in out
    shipped = _campaign_dir(raw)  # another host's shipped campaign, of this host's class
    meta = json.loads((shipped / campaigns.CAMPAIGN_FILE).read_text())
    from fwbench.harness.fingerprint import system_fingerprint

    meta["system"]["host_processor_flags"] = system_fingerprint()["host_processor_flags"]
    (shipped / campaigns.CAMPAIGN_FILE).write_text(json.dumps(meta))
    Path(f"{shipped}.dvc").write_text("outs: []\n")
    assert main(["campaign", "hint", "--raw", str(raw)]) == 0
    assert capsys.readouterr().out == "", "a class the dataset ships needs no call to share"
