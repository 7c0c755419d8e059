"""`fwbench ingest`: raw run records -> data/results.duckdb + data/parquet, incrementally.

Every raw file is hashed (sha256 of its bytes); only files that are new, changed, or were
invalid last time are parsed and validated. Rows of changed and removed files are deleted
and the new rows bulk-inserted in one transaction, so ingesting twice changes nothing and a
crash leaves the previous state. Invalid records are never dropped silently: each is kept out
of the tables and reported (file, field, message) in `ingest_report` and to the caller.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from fwbench import paths
from fwbench.campaigns import CAMPAIGN_FILE
from fwbench.dataset import store
from fwbench.dataset.flatten import BATCH_TABLES, Batch, campaign_frame
from fwbench.dataset.metadata import write_datapackage
from fwbench.dataset.tables import ACCURACY_EPOCHS, ACCURACY_RUNS, CAMPAIGNS, INGEST_REPORT, RUNS, STEPS, SYSTEMS
from fwbench.dataset.validate import Problem, check_record
from fwbench.records import RecordError, read_record


@dataclass
class IngestResult:
    """What one ingest did; `invalid` lists every invalid file present now."""

    ingest_id: int
    db_path: Path
    parquet_dir: Path
    n_files: int
    new: int
    changed: int
    removed: int
    unchanged: int
    invalid: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    wrote_parquet: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return {"files": self.n_files, "new": self.new, "changed": self.changed, "removed": self.removed,
                "unchanged": self.unchanged, "invalid": len(self.invalid)}

    def summary(self) -> str:
        c = self.counts
        return (f"ingest {self.ingest_id}: {c['files']} files: {c['new']} new, {c['changed']} changed, "
                f"{c['removed']} removed, {c['unchanged']} unchanged, {c['invalid']} invalid "
                f"({self.seconds:.2f} s) -> {self.db_path}")


@dataclass(frozen=True)
class _Known:
    content_hash: str
    run_id: str | None


def scan(raw_dir: Path) -> list[str]:
    """Raw record paths (relative, posix) under raw_dir; hidden files (atomic-write temps) and the
    campaigns' campaign.json files (workflow metadata, not runs) skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(raw_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath).relative_to(raw_dir)
        found.extend((base / f).as_posix() for f in filenames
                     if f.endswith(".json") and not f.startswith(".") and f != CAMPAIGN_FILE)
    return sorted(found)


def _read(raw_dir: Path, rel: str) -> tuple[bytes, str]:
    data = (raw_dir / rel).read_bytes()
    return data, hashlib.sha256(data).hexdigest()


def _parse(data: bytes, rel: str) -> tuple[dict[str, Any] | None, Problem | None]:
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return None, Problem(rel, "<file>", f"not valid JSON ({exc})")
    problem = check_record(record, rel)
    return (None, problem) if problem else (record, None)


def ingest(raw_dir: str | os.PathLike[str] | None = None, db_path: str | os.PathLike[str] | None = None,
           parquet_dir: str | os.PathLike[str] | None = None, *, dictionary: str | os.PathLike[str] | None = None,
           views_sql: str | os.PathLike[str] | None = None) -> IngestResult:
    """Bring the database and Parquet files in line with raw_dir; see the module docstring.

    Defaults: raw_dir = data/raw, db_path = data/results.duckdb, parquet_dir = the `parquet`
    directory next to the database, dictionary = README.md next to the database.
    """
    t0 = time.perf_counter()
    raw = Path(raw_dir) if raw_dir is not None else paths.RAW_DIR
    if not raw.is_dir():
        raise FileNotFoundError(f"{raw}: raw run directory not found (expected <grid>/<system-id>/<cell-id>/rep-<k>.json)")
    db = Path(db_path) if db_path is not None else paths.DB_PATH
    pq = Path(parquet_dir) if parquet_dir is not None else paths.parquet_dir_for(db)

    con = store.connect(db)
    try:
        store.ensure_tables(con)
        known = {p: _Known(h, r) for p, h, r in con.execute(
            "SELECT path, content_hash, run_id FROM ingest_files").fetchall()}

        files = scan(raw)
        present = set(files)
        removed = sorted(set(known) - present)
        new = changed = unchanged = 0
        batch = Batch()
        problems: list[Problem] = []
        manifest: list[tuple[str, str, str | None, str | None, str | None]] = []
        stale_run_ids = [known[p].run_id for p in removed if known[p].run_id]
        # run_id -> path of every valid record that stays as it is, to catch duplicate run_ids.
        owners: dict[str, str] = {}
        to_parse: list[tuple[str, bytes, str]] = []
        for rel in files:
            data, digest = _read(raw, rel)
            before = known.get(rel)
            if before is None:
                new += 1
            elif before.content_hash != digest:
                changed += 1
            else:
                unchanged += 1
                if before.run_id is not None:
                    owners[before.run_id] = rel
                    continue
            if before is not None and before.run_id:
                stale_run_ids.append(before.run_id)
            to_parse.append((rel, data, digest))  # new, changed, or invalid last time

        for rel, data, digest in to_parse:
            record, problem = _parse(data, rel)
            if record is not None and record["run_id"] in owners:
                problem = Problem(rel, "run_id", f"duplicate run_id {record['run_id']}: "
                                                 f"also in {owners[record['run_id']]}")
            if problem is not None:
                problems.append(problem)
                manifest.append((rel, digest, None, problem.field, problem.message))
                continue
            assert record is not None
            owners[record["run_id"]] = rel
            batch.add(record, rel, digest)
            manifest.append((rel, digest, record["run_id"], None, None))

        data_changed = bool(stale_run_ids) or len(batch) > 0 or bool(removed)
        ingest_id = _write(con, batch, stale_run_ids, removed, manifest)
        problems.extend(_rebuild_campaigns(con, raw))
        # Files still invalid but unchanged were parsed again above, so `problems` is complete.
        problems.sort(key=lambda p: p.path)
        seconds = time.perf_counter() - t0
        report = {
            "ingest_id": ingest_id, "ingested_at": datetime.now(timezone.utc).replace(tzinfo=None),
            "raw_dir": str(raw), "n_files": len(files), "new": new, "changed": changed,
            "removed": len(removed), "unchanged": unchanged, "invalid": len(problems),
            "seconds": seconds,
            "invalid_records": [{"path": p.path, "field": p.field, "message": p.message} for p in problems],
        }
        con.execute(f"INSERT INTO ingest_report ({', '.join(report)}) VALUES ({', '.join('?' * len(report))})",
                    list(report.values()))
        store.create_views(con, views_sql)

        wrote = data_changed or not (pq / "runs").exists()
        if wrote:
            export_parquet(con, pq)
        else:
            store.export_table(con, INGEST_REPORT.name, pq)
        store.export_table(con, CAMPAIGNS.name, pq, "SELECT * FROM campaigns ORDER BY campaign_id, system_id")
        from fwbench.dataset.dictionary import write_dictionary

        write_datapackage(con, pq)
        write_dictionary(Path(dictionary) if dictionary is not None else db.parent / "README.md", views_sql)
    finally:
        con.close()
    return IngestResult(ingest_id=ingest_id, db_path=db, parquet_dir=pq, n_files=len(files), new=new,
                        changed=changed, removed=len(removed), unchanged=unchanged, invalid=problems,
                        seconds=time.perf_counter() - t0, wrote_parquet=wrote)


def _write(con: Any, batch: Batch, stale_run_ids: list[str], removed: list[str],
           manifest: list[tuple[str, str, str | None, str | None, str | None]]) -> int:
    """Apply one ingest in a single transaction; returns the new ingest_id."""
    frames = batch.frames()
    con.execute("BEGIN TRANSACTION")
    try:
        if stale_run_ids:
            con.register("_stale", pl.DataFrame({"run_id": stale_run_ids}, schema={"run_id": pl.String}).to_arrow())
            for table in ("steps", "run_systems", "runs", ACCURACY_EPOCHS.name, ACCURACY_RUNS.name):
                con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT run_id FROM _stale)")
            con.unregister("_stale")
        gone = removed + [m[0] for m in manifest]
        if gone:
            con.register("_gone", pl.DataFrame({"path": gone}, schema={"path": pl.String}).to_arrow())
            con.execute("DELETE FROM ingest_files WHERE path IN (SELECT path FROM _gone)")
            con.unregister("_gone")
        if manifest:
            files = pl.DataFrame(manifest, schema=["path", "content_hash", "run_id", "field", "message"],
                                 orient="row")
            con.register("_files", files.to_arrow())
            con.execute("INSERT INTO ingest_files BY NAME SELECT * FROM _files")
            con.unregister("_files")
        if len(batch):
            for name in (t.name for t in BATCH_TABLES):
                con.register(f"_new_{name}", frames[name].to_arrow())
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _new_{name}")
                con.unregister(f"_new_{name}")
        if stale_run_ids or len(batch):
            _rebuild_systems(con)
        ingest_id = con.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingest_report").fetchall()[0][0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(ingest_id)


def _rebuild_campaigns(con: Any, raw: Path) -> list[Problem]:
    """campaigns = every <grid>/<system>/<campaign>/campaign.json, with the runs ingested of its plan.

    Rebuilt at every ingest (a handful of small files); an invalid campaign.json is reported, not used.
    """
    records, problems = [], []
    for path in sorted(raw.glob(f"*/*/*/{CAMPAIGN_FILE}")):
        rel = path.relative_to(raw).as_posix()
        try:
            records.append(read_record(path, schema="campaign"))
        except RecordError as exc:
            problems.append(Problem(rel, "<campaign>", str(exc).removeprefix(f"{path}: ")))
    con.execute("DELETE FROM campaigns")
    if records:
        con.register("_campaigns", campaign_frame(records).to_arrow())
        con.execute("INSERT INTO campaigns BY NAME SELECT * FROM _campaigns")
        con.unregister("_campaigns")
    con.execute("""
        UPDATE campaigns SET
          speed_runs = (SELECT count(*) FROM runs AS r WHERE r.campaign_id = campaigns.campaign_id
                          AND r.system_id = campaigns.system_id AND r.grid_name = campaigns.grid_name),
          accuracy_runs = (SELECT count(*) FROM accuracy_runs AS a WHERE a.campaign_id = campaigns.campaign_id
                             AND a.system_id = campaigns.system_id AND a.grid_name = campaigns.grid_name)""")
    con.execute("UPDATE campaigns SET partial = speed_runs < coalesce(planned_speed, 0) "
                "OR accuracy_runs < coalesce(planned_accuracy, 0)")
    return problems


def _rebuild_systems(con: Any) -> None:
    """systems = latest fingerprint per system_id + counts (derived from run_systems)."""
    fingerprint = ("concat_ws('|', packages, python_version, operating_system, coalesce(git_commit, '-'), "
                   "coalesce(env_lock_hash, '-'), coalesce(extra, '-'))")
    con.execute("DELETE FROM systems")
    con.execute(f"""
        INSERT INTO systems BY NAME
        SELECT latest.* EXCLUDE (run_id, finished_at, rn), agg.* EXCLUDE (system_id)
        FROM (SELECT *, row_number() OVER (PARTITION BY system_id ORDER BY finished_at DESC NULLS LAST, run_id) AS rn
              FROM run_systems) AS latest
        JOIN (SELECT system_id, count(*) AS n_runs, count(DISTINCT {fingerprint}) AS n_fingerprints,
                     min(finished_at) AS first_run_at, max(finished_at) AS last_run_at
              FROM run_systems GROUP BY system_id) AS agg USING (system_id)
        WHERE latest.rn = 1""")


def export_parquet(con: Any, parquet_dir: Path) -> None:
    """Rewrite the Parquet mirror: runs, steps and accuracy_runs hive-partitioned by grid_name and system_id."""
    store.export_table(con, RUNS.name, parquet_dir, "SELECT * FROM runs ORDER BY run_id", RUNS.partition_by)
    store.export_table(con, STEPS.name, parquet_dir,
                       "SELECT s.*, r.grid_name, r.system_id FROM steps AS s JOIN runs AS r USING (run_id)",
                       STEPS.partition_by)
    store.export_table(con, SYSTEMS.name, parquet_dir, "SELECT * FROM systems ORDER BY system_id")
    store.export_table(con, ACCURACY_RUNS.name, parquet_dir, "SELECT * FROM accuracy_runs ORDER BY run_id",
                       ACCURACY_RUNS.partition_by)
    store.export_table(con, ACCURACY_EPOCHS.name, parquet_dir,
                       "SELECT * FROM accuracy_epochs ORDER BY run_id, epoch")
    store.export_table(con, INGEST_REPORT.name, parquet_dir)
