"""Validate raw records at ingest speed, with errors that name the file and the field.

jsonschema (fwbench.records) takes ~2 ms per record, 20 s for 10,000 records; a fastjsonschema
validator compiled from the same YAML schema takes ~0.07 ms. The fast validator decides; only
when it refuses a record is fwbench.records asked for the detailed, field-named messages.
On top of the schema, the cell must be a valid fwbench.cells.Cell and cell_id must be its hash.
Records are routed by `kind`: 'accuracy' records follow workflow/schemas/accuracy.schema.yaml and
their cell is a fwbench.accuracy.spec.AccuracyCell; any other kind is checked as a run record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import fastjsonschema

from fwbench.cells import Cell, CellError
from fwbench.constants import SCHEMA_VERSION
from fwbench.records import RECORD_ROOT, RecordError, validate_record
from fwbench.schemas import field_name, load_schema, schema_problems


@dataclass(frozen=True)
class Problem:
    """Why one raw file was kept out of the tables."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"


@lru_cache(maxsize=None)
def _fast_validator(name: str = "run") -> Callable[[Any], Any]:
    return fastjsonschema.compile(load_schema(name))


def schema_for(record: dict[str, Any]) -> str:
    """The schema a record is validated against, from its kind."""
    return "accuracy" if record.get("kind") == "accuracy" else "run"


def _cell_of(record: dict[str, Any], schema: str, path: str) -> Any:
    if schema == "accuracy":
        from fwbench.accuracy.spec import AccuracyCell

        return AccuracyCell.from_dict(record["cell"], source=path)
    return Cell.from_dict(record["cell"], source=path)


def check_record(record: Any, path: str) -> Problem | None:
    """None when the record may be ingested, else the first problem with its field."""
    if not isinstance(record, dict):
        return Problem(path, "<record>", f"a record must be a JSON object, got {type(record).__name__}")
    schema = schema_for(record)
    if record.get("schema_version") != SCHEMA_VERSION:
        try:  # fwbench.records owns the wording of the version refusal
            validate_record(record, source=path, schema=schema)
        except RecordError as exc:
            return Problem(path, "schema_version", str(exc).removeprefix(f"{path}: "))
    try:
        _fast_validator(schema)(record)
    except fastjsonschema.JsonSchemaValueException as fast_error:
        problems = schema_problems(record, schema, root=RECORD_ROOT, dotted=True)
        if problems:
            field, message = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            return Problem(path, field, message + more)
        # jsonschema accepted what fastjsonschema refused (e.g. date-time format): report the latter.
        field = field_name(fast_error.path[1:], root=RECORD_ROOT, dotted=True)
        return Problem(path, field, fast_error.message.removeprefix(f"{fast_error.name} "))
    try:
        cell = _cell_of(record, schema, path)
    except CellError as exc:
        return Problem(path, f"cell.{exc.field}", str(exc).removeprefix(f"{path}: "))
    if cell.cell_id != record["cell_id"]:
        return Problem(path, "cell_id", f"{record['cell_id']!r} is not the hash of the cell ({cell.cell_id!r})")
    return None
