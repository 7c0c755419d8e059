"""Run records at the boundary: schema validation and atomic writing.

A record is validated against workflow/schemas/run.schema.yaml both when written and when
ingested, so a malformed file is caught at the point that can name it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fwbench.constants import SCHEMA_VERSION
from fwbench.schemas import schema_errors

RECORD_ROOT = "<record>"


class RecordError(ValueError):
    """A run record that does not follow the schema; names the file and the field."""


def record_errors(record: Any, schema: str = "run") -> list[str]:
    """Every schema violation as 'field.path: problem; allowed: ...' (empty when valid)."""
    return schema_errors(record, schema, root=RECORD_ROOT, dotted=True)


def validate_record(record: Any, source: str = "<record>", schema: str = "run") -> None:
    """Raise RecordError naming the source and the first offending field."""
    if isinstance(record, dict) and record.get("schema_version") not in (None, SCHEMA_VERSION):
        raise RecordError(
            f"{source}: schema_version={record.get('schema_version')!r} is not supported "
            f"(this fwbench reads schema_version {SCHEMA_VERSION}); no migration is defined"
        )
    errors = record_errors(record, schema)
    if errors:
        raise RecordError(f"{source}: {errors[0]}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""))


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> None:
    """Write JSON via a temp file in the same directory and rename, so readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Validate, then write atomically."""
    validate_record(record, source=str(path))
    write_json_atomic(path, record)


def read_record(path: str | os.PathLike[str], schema: str = "run") -> dict[str, Any]:
    """Read and validate one record against `schema`; RecordError names the file on any problem."""
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not valid JSON ({exc})") from exc
    validate_record(record, source=str(path), schema=schema)
    return record
