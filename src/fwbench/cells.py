"""A benchmark cell: the parameters that define one measurement, and its stable id.

A cell id is a short hash of the canonical parameters, so editing a grid adds or removes cells
without renaming any other; runs of the same cell from any grid or host share the id. The
implementation `variant`, the inference `runtime` and the Keras `backend` enter the hash only when they are
not the defaults (standard, native, native), so the ids of cells measured before they existed stay what they were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from fwbench import constants as C
from fwbench.ids import short_hash


class CellError(ValueError):
    """A cell parameter outside its allowed values; names the field and the allowed values."""

    def __init__(self, field: str, value: Any, allowed: str, source: str = "") -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}invalid {field}={value!r}; allowed: {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


@dataclass(frozen=True)
class Cell:
    framework: str
    mode: str
    model: str
    size: str
    phase: str
    batch_size: int
    seq_len: int
    device: str
    threads: int
    dtype: str = "float32"
    variant: str = C.STANDARD_VARIANT
    runtime: str = C.NATIVE_RUNTIME
    backend: str = C.NATIVE_BACKEND

    def __post_init__(self) -> None:
        validate_cell(self)

    @property
    def cell_id(self) -> str:
        return cell_id(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> "Cell":
        names = check_fields(cls, data, source)
        try:
            return cls(**data)
        except TypeError as exc:  # a missing field
            raise CellError("cell", data, f"all of {names} ({exc})", source) from exc


def check_fields(cls: type, data: dict[str, Any], source: str = "") -> str:
    """Raise CellError for the first key of `data` that is not a field of dataclass `cls`;
    returns the field names, sorted and comma-joined, for the caller's missing-field error."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise CellError(unknown[0], data[unknown[0]], ", ".join(sorted(names)), source)
    return ", ".join(sorted(names))


def check_choice(field: str, value: Any, allowed: tuple[str, ...], context: str = "") -> None:
    """Raise CellError unless value is one of `allowed` (shared by speed and accuracy cells); `context` says
    what the allowed values depend on (e.g. "for framework keras")."""
    if value not in allowed:
        raise CellError(field, value, ", ".join(allowed) + (f" ({context})" if context else ""))


def check_positive(field: str, value: Any, allow_zero: bool = False) -> None:
    """Raise CellError unless value is an int (not bool) > 0, or >= 0 with allow_zero."""
    ok = isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise CellError(field, value, "a non-negative integer" if allow_zero else "a positive integer")


def validate_cell(cell: Cell) -> None:
    """Raise CellError naming the first field outside its allowed values."""
    check_choice("framework", cell.framework, C.FRAMEWORKS)
    check_choice("mode", cell.mode, C.MODES[cell.framework])
    check_choice("model", cell.model, C.MODELS)
    check_choice("size", cell.size, C.SIZES[cell.model])
    check_choice("phase", cell.phase, C.PHASES)
    check_choice("device", cell.device, C.DEVICES)
    check_choice("dtype", cell.dtype, C.DTYPES)
    check_positive("batch_size", cell.batch_size)
    check_positive("threads", cell.threads)
    check_positive("seq_len", cell.seq_len, allow_zero=cell.model in C.IMAGE_MODELS)
    check_variant(cell.framework, cell.model, cell.variant, cell.seq_len)
    check_runtime(cell)
    check_choice("backend", cell.backend, C.BACKENDS[cell.framework], f"for framework {cell.framework}")


def check_runtime(cell: Cell) -> None:
    """Raise CellError unless the runtime exists for the framework; an exported runtime runs inference of
    the standard model on CPU, exported from the framework's default mode (constants.DEFAULT_MODES)."""
    check_choice("runtime", cell.runtime, C.RUNTIMES[cell.framework])
    if cell.runtime == C.NATIVE_RUNTIME:
        return
    for field, value, wanted in (("phase", cell.phase, "infer"), ("device", cell.device, "cpu"),
                                 ("mode", cell.mode, C.DEFAULT_MODES[cell.framework]),
                                 ("variant", cell.variant, C.STANDARD_VARIANT)):
        if value != wanted:
            raise CellError(field, value, f"{wanted} with runtime {cell.runtime} (an exported model serves "
                                          f"inference, exported from {cell.framework} "
                                          f"{C.DEFAULT_MODES[cell.framework]})")


def check_variant(framework: str, model: str, variant: str, seq_len: int) -> None:
    """Raise CellError unless `variant` exists for this framework and model (constants.VARIANTS);
    `unroll` also needs a sequence no longer than constants.UNROLL_MAX_SEQ_LEN."""
    allowed = C.VARIANTS[framework][model]
    if variant not in allowed:
        raise CellError("variant", variant, f"{', '.join(allowed)} (for {framework} {model})")
    if variant == "unroll" and seq_len > C.UNROLL_MAX_SEQ_LEN:
        raise CellError("seq_len", seq_len, f"at most {C.UNROLL_MAX_SEQ_LEN} with variant unroll (the unrolled "
                                            "graph grows with every timestep)")


def implementation_name(framework: str, backend: str = C.NATIVE_BACKEND) -> str:
    """How tables, sentences and figures name what runs a cell: 'torch', or 'keras[jax]' for Keras on a backend."""
    return framework if backend == C.NATIVE_BACKEND else f"{framework}[{backend}]"


#: Cell fields added after the first runs, with the value every earlier run implicitly had.
DEFAULTED_FIELDS: dict[str, str] = {"variant": C.STANDARD_VARIANT, "runtime": C.NATIVE_RUNTIME,
                                    "backend": C.NATIVE_BACKEND}


def cell_id(cell: Cell) -> str:
    """Stable 12-hex-digit id from the canonical JSON of the cell's parameters (without `variant`, `runtime`
    and `backend` at their defaults: ids from before those fields existed stay valid)."""
    params = cell.to_dict()
    for key, default in DEFAULTED_FIELDS.items():
        if params[key] == default:
            del params[key]
    return short_hash(params)
