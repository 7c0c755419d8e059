"""The JSON Schemas of workflow/schemas/ and the one way their violations are worded.

Grids, run records and accuracy records are all checked against a schema at the boundary, and
every refusal should read the same: the field, the problem, and the allowed values taken from
the schema itself ('cells[0].frameworks.torch[1]: 'jit' is not allowed; allowed: eager, compile').
Records name nested fields with dots ('epochs.0.val_accuracy'), the form the ingest report
stores; grids with brackets, the form a person editing YAML reads.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Sequence

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from fwbench.paths import SCHEMAS_DIR


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """workflow/schemas/<name>.schema.yaml as a dict (name: grid, run, accuracy)."""
    with open(SCHEMAS_DIR / f"{name}.schema.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=None)
def validator(name: str) -> jsonschema.protocols.Validator:
    """A validator of the schema's own draft, with format checking."""
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def field_name(path: Iterable[Any], *, root: str = "<document>", dotted: bool = False) -> str:
    """'cells[0].frameworks' (or 'cells.0.frameworks' when dotted); `root` for the document itself."""
    out = ""
    for part in path:
        if isinstance(part, int) and not dotted:
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or root


def schema_problems(data: Any, name: str, *, root: str = "<document>",
                    dotted: bool = False) -> list[tuple[str, str]]:
    """Every violation of schema `name` as (field, 'problem; allowed: ...'), in document order."""
    errors = sorted(validator(name).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [describe(best_match([e]), data, root=root, dotted=dotted) for e in errors]


def schema_errors(data: Any, name: str, *, root: str = "<document>", dotted: bool = False) -> list[str]:
    """Every violation as 'field: problem; allowed: ...' (empty when valid)."""
    return [f"{field}: {message}" for field, message in schema_problems(data, name, root=root, dotted=dotted)]


def describe(error: ValidationError, data: Any, *, root: str = "<document>", dotted: bool = False) -> tuple[str, str]:
    """(field, 'problem; allowed: values') of one jsonschema error (propertyNames, enums, keys, types...)."""
    path = list(error.absolute_path)
    kind = error.validator

    def name(parts: Sequence[Any]) -> str:
        return field_name(parts, root=root, dotted=dotted)

    if kind == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        # propertyNames errors report the key as the instance, at the parent object's path
        parent = _lookup(data, path)
        if isinstance(parent, dict) and isinstance(error.instance, str) and error.instance in parent:
            return name([*path, error.instance]), f"key {error.instance!r} is not allowed; allowed: {allowed}"
        return name(path), f"{error.instance!r} is not allowed; allowed: {allowed}"
    if kind == "const":
        return name(path), f"{error.instance!r} is not allowed; allowed: {error.validator_value!r}"
    if kind == "additionalProperties":
        allowed_keys = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed_keys))
        return (name([*path, unknown[0]] if unknown else path),
                "unknown field; allowed fields: " + ", ".join(allowed_keys))
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return (name([*path, missing[0]] if missing else path),
                "required field is missing; required: " + ", ".join(error.validator_value))
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return name(path), f"{error.instance!r} has the wrong type; allowed: {expected}"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
        size = "small" if "inimum" in kind else "large"
        return name(path), f"{error.instance!r} is too {size}; allowed: a number {op} {error.validator_value}"
    if kind in ("oneOf", "anyOf"):
        allowed = " or ".join(_summarize(option) for option in error.validator_value)
        return name(path), f"{error.instance!r} is not allowed; allowed: {allowed}"
    return name(path), error.message


def _summarize(schema: dict[str, Any]) -> str:
    """A short reading of a sub-schema for 'allowed:' (one of a oneOf's options)."""
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    kind = schema.get("type", "value")
    if kind == "array":
        return "a list of " + _summarize(schema.get("items", {}))
    if "minimum" in schema:
        return f"an {kind} >= {schema['minimum']}"
    return f"a {kind}"


def _lookup(data: Any, path: Sequence[Any]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
