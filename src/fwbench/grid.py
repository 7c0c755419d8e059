"""Experiment grids: load a workflow/grids/NAME.yaml, validate it, expand it into jobs.

A grid is data. This module is the one place that reads it, so the Snakefile, `fwbench grid`
and the tests agree on which cells and repetitions a grid means. Validation happens before any
job runs and names the file, the field and the allowed values (taken from the schema, whose enums
a test keeps equal to fwbench.constants). Cell ids come from fwbench.cells.cell_id, so editing a
grid adds or removes runs without renaming any other.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import yaml

from fwbench import constants as C
from fwbench.cells import Cell, CellError
from fwbench.paths import GRIDS_DIR, SCHEMAS_DIR

GRID_SCHEMA = SCHEMAS_DIR / "grid.schema.yaml"
ALL_CORES = "all"


class GridError(ValueError):
    """A grid file that cannot be used; the message names the file, the field and the allowed values."""


@dataclass(frozen=True)
class Protocol:
    """How one run is measured; maps onto `fwbench run --warmup --steps --timeout`."""

    warmup: int
    steps: int
    timeout: float


@dataclass(frozen=True)
class Block:
    """One `cells` entry of a grid: its list-valued fields are crossed into cells."""

    name: str
    frameworks: dict[str, tuple[str, ...]]
    models: dict[str, tuple[str, ...]]
    phases: tuple[str, ...]
    threads: tuple[int | str, ...]
    protocol: Protocol
    batch_sizes: tuple[int, ...] | None = None
    seq_lens: tuple[int, ...] | None = None
    devices: tuple[str, ...] = ("cpu",)
    dtypes: tuple[str, ...] = ("float32",)


@dataclass(frozen=True)
class GridCell:
    """A cell of a grid with the protocol it is measured with and the block that produced it."""

    cell: Cell
    protocol: Protocol
    block: str

    @property
    def cell_id(self) -> str:
        return self.cell.cell_id


class Job(NamedTuple):
    """One (cell, repetition): one fresh `fwbench run` process."""

    cell: Cell
    repetition: int


@dataclass(frozen=True)
class Grid:
    """A validated grid file. `hash` is a short sha256 of its canonical content (recorded in runs)."""

    name: str
    path: Path
    version: int
    repetitions: int
    seed: int
    protocol: Protocol
    blocks: tuple[Block, ...]
    exclude: tuple[dict[str, Any], ...] = ()
    description: str = ""
    hash: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# ---------------------------------------------------------------------------------------------
# Finding and reading grid files


def available_grids(grids_dir: str | os.PathLike[str] = GRIDS_DIR) -> list[str]:
    """Names of the grids in grids_dir (file stems of *.yaml)."""
    return sorted(p.stem for p in Path(grids_dir).glob("*.yaml"))


def grid_path(name_or_path: str | os.PathLike[str], grids_dir: str | os.PathLike[str] = GRIDS_DIR) -> Path:
    """Resolve a grid name (workflow/grids/NAME.yaml) or a path; an unknown name lists the available grids."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    path = Path(grids_dir) / f"{name_or_path}.yaml"
    if path.is_file():
        return path
    raise GridError(
        f"{path}: no such grid {str(name_or_path)!r}; available grids: "
        f"{', '.join(available_grids(grids_dir)) or '(none)'} (files in {grids_dir})"
    )


def grid_hash(data: Any) -> str:
    """Short sha256 of the canonical JSON of a grid's content (comments and layout do not count)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _field_name(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<grid>"


def schema_errors(data: Any) -> list[str]:
    """Every schema violation of a grid as 'field: problem; allowed: ...' (empty when valid)."""
    import jsonschema
    from jsonschema.exceptions import best_match

    from fwbench.records import load_schema

    schema = load_schema("grid")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(best_match([e]), data) for e in errors]


def _describe(error: Any, data: Any) -> str:
    """Turn a jsonschema error into 'field: problem; allowed: values' (propertyNames, enums, keys)."""
    path = list(error.absolute_path)
    kind = error.validator
    if kind == "enum":
        # propertyNames errors report the key as the instance, at the parent object's path
        parent = _lookup(data, path)
        if isinstance(parent, dict) and isinstance(error.instance, str) and error.instance in parent:
            path = [*path, error.instance]
            return f"{_field_name(path)}: key {error.instance!r} is not allowed; allowed: " + ", ".join(
                map(str, error.validator_value)
            )
        return f"{_field_name(path)}: {error.instance!r} is not allowed; allowed: " + ", ".join(
            map(str, error.validator_value)
        )
    if kind == "const":
        return f"{_field_name(path)}: {error.instance!r} is not allowed; allowed: {error.validator_value!r}"
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return (
            f"{_field_name([*path, unknown[0]] if unknown else path)}: unknown field; allowed fields: "
            + ", ".join(allowed)
        )
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{_field_name([*path, missing[0]] if missing else path)}: required field is missing; required: " + ", ".join(
            error.validator_value
        )
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{_field_name(path)}: {error.instance!r} has the wrong type; allowed: {expected}"
    if kind in ("minimum", "exclusiveMinimum"):
        op = ">=" if kind == "minimum" else ">"
        return f"{_field_name(path)}: {error.instance!r} is too small; allowed: a number {op} {error.validator_value}"
    if kind in ("oneOf", "anyOf"):
        allowed = " or ".join(_summarize(option) for option in error.validator_value)
        return f"{_field_name(path)}: {error.instance!r} is not allowed; allowed: {allowed}"
    return f"{_field_name(path)}: {error.message}"


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


def read_grid_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a grid file; a YAML syntax error or a non-mapping names the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise GridError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise GridError(f"{path}: a grid must be a mapping with fields version, repetitions, protocol, cells")
    return data


Validate = Callable[[dict[str, Any], str], Any]


def load_grid(
    name_or_path: str | os.PathLike[str],
    *,
    grids_dir: str | os.PathLike[str] = GRIDS_DIR,
    validate: Validate | None = None,
    cores: int | None = None,
) -> Grid:
    """Read, validate and parse a grid; GridError names file, field and allowed values.

    `validate(data, schema_path)` is an extra validator, e.g. snakemake.utils.validate from the
    workflow; whatever it raises is replaced by this module's message so every caller reports
    the same thing. `cores` resolves threads "all" (default: this host's logical cores); the
    whole grid is expanded once here so a duplicate cell or a dead exclusion fails early too.
    """
    path = grid_path(name_or_path, grids_dir)
    data = read_grid_file(path)
    problems = schema_errors(data)
    if not problems and validate is not None:
        try:
            validate(dict(data), str(GRID_SCHEMA))
        except Exception as exc:  # noqa: BLE001 - rephrased with the field below
            problems = schema_errors(data) or [str(exc)]
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise GridError(f"{path}: invalid grid: {problems[0]}{more}")
    grid = _parse(data, path)
    expand_cells(grid, cores=cores)  # fail now on duplicates, bad cells, dead exclusions
    accuracy_jobs(grid)  # and on a bad accuracy section
    return grid


def _protocol(data: dict[str, Any], base: Protocol | None = None) -> Protocol:
    merged = {**(base.__dict__ if base else {}), **data}
    return Protocol(warmup=int(merged["warmup"]), steps=int(merged["steps"]), timeout=float(merged["timeout"]))


def _parse(data: dict[str, Any], path: Path) -> Grid:
    protocol = _protocol(data["protocol"])
    blocks = []
    for i, raw in enumerate(data["cells"]):
        blocks.append(
            Block(
                name=raw.get("name", f"cells[{i}]"),
                frameworks={k: tuple(v) for k, v in raw["frameworks"].items()},
                models={k: tuple(v) for k, v in raw["models"].items()},
                phases=tuple(raw["phases"]),
                threads=tuple(raw["threads"]),
                batch_sizes=tuple(raw["batch_sizes"]) if "batch_sizes" in raw else None,
                seq_lens=tuple(raw["seq_lens"]) if "seq_lens" in raw else None,
                devices=tuple(raw.get("devices", ("cpu",))),
                dtypes=tuple(raw.get("dtypes", ("float32",))),
                protocol=_protocol(raw.get("protocol", {}), protocol),
            )
        )
    return Grid(
        name=path.stem,
        path=path,
        version=int(data["version"]),
        repetitions=int(data["repetitions"]),
        seed=int(data.get("seed", 0)),
        protocol=protocol,
        blocks=tuple(blocks),
        exclude=tuple(dict(e) for e in data.get("exclude", [])),
        description=str(data.get("description", "")).strip(),
        hash=grid_hash(data),
        raw=data,
    )


def accuracy_jobs(grid: Grid) -> list[Any]:
    """The grid's accuracy-track jobs (fwbench.accuracy.plan.AccuracyJob), [] without a section."""
    section = grid.raw.get("accuracy")
    if section is None:
        return []
    from fwbench.accuracy.plan import AccuracyPlanError, expand  # imports this module: import late

    try:
        return expand(section, source=str(grid.path))
    except AccuracyPlanError as exc:  # already names the file, the field and the allowed values
        raise GridError(str(exc)) from exc


# ---------------------------------------------------------------------------------------------
# Expansion


def resolve_threads(values: Sequence[int | str], cores: int) -> list[int]:
    """'all' -> cores; integers above cores are dropped (a sweep up to all cores); order kept, no repeats."""
    out: list[int] = []
    for value in values:
        n = cores if value == ALL_CORES else int(value)
        if n <= cores and n not in out:
            out.append(n)
    return out


def _block_cells(block: Block, cores: int) -> Iterable[Cell]:
    framework_modes = [(fw, m) for fw, modes in block.frameworks.items() for m in modes]
    model_sizes = [(mo, s) for mo, sizes in block.models.items() for s in sizes]
    threads = resolve_threads(block.threads, cores)
    for (model, size), (fw, mode), phase, device, dtype, n_threads in itertools.product(
        model_sizes, framework_modes, block.phases, block.devices, block.dtypes, threads
    ):
        batches = block.batch_sizes or (C.DEFAULT_BATCH_SIZE[model],)
        seq_lens = (0,) if model == "cnn" else (block.seq_lens or (C.DEFAULT_SEQ_LEN[model],))
        for batch, seq_len in itertools.product(batches, seq_lens):
            yield Cell(framework=fw, mode=mode, model=model, size=size, phase=phase, batch_size=batch,
                       seq_len=seq_len, device=device, threads=n_threads, dtype=dtype)


def _matches(cell: Cell, rule: dict[str, Any]) -> bool:
    for key, wanted in rule.items():
        if key == "reason":
            continue
        values = wanted if isinstance(wanted, list) else [wanted]
        if getattr(cell, key) not in values:
            return False
    return True


def expand_cells(grid: Grid, cores: int | None = None) -> list[GridCell]:
    """The grid's cells in file order, exclusions applied, each once (the first block listing it wins).

    GridError when two blocks list a cell with different protocols or an exclusion matches nothing.
    """
    cores = cores or os.cpu_count() or 1
    seen: dict[Cell, GridCell] = {}
    used = [False] * len(grid.exclude)
    out: list[GridCell] = []
    for i, block in enumerate(grid.blocks):
        try:
            cells = list(_block_cells(block, cores))
        except CellError as exc:
            raise GridError(f"{grid.path}: cells[{i}] ({block.name}): {exc}") from exc
        for cell in cells:
            hits = [j for j, rule in enumerate(grid.exclude) if _matches(cell, rule)]
            for j in hits:
                used[j] = True
            if hits:
                continue
            if cell in seen:  # e.g. threads "all" resolving to a value another block lists
                first = seen[cell]
                if first.protocol != block.protocol:
                    raise GridError(
                        f"{grid.path}: cells[{i}] ({block.name}) repeats cell {cell.cell_id} of block "
                        f"{first.block} with another protocol ({block.protocol} vs {first.protocol}); "
                        "a cell listed twice must be measured the same way"
                    )
                continue
            seen[cell] = GridCell(cell=cell, protocol=block.protocol, block=block.name)
            out.append(seen[cell])
    dead = [j for j, hit in enumerate(used) if not hit]
    if dead:
        raise GridError(f"{grid.path}: exclude[{dead[0]}] matches no cell ({grid.exclude[dead[0]]}); "
                        "fix or remove it")
    if not out:
        raise GridError(f"{grid.path}: cells: the grid expands to no cell after exclusions")
    return out


def expand_jobs(grid: Grid, cores: int | None = None) -> list[Job]:
    """Every (cell, repetition), repetition-major: rep 0 of every cell, then rep 1, ... (interleaved)."""
    cells = expand_cells(grid, cores)
    return [Job(gc.cell, rep) for rep in range(grid.repetitions) for gc in cells]


def cells_by_id(grid: Grid, cores: int | None = None) -> dict[str, GridCell]:
    """Cell id -> GridCell, for the workflow's wildcard lookups."""
    return {gc.cell_id: gc for gc in expand_cells(grid, cores)}


@dataclass(frozen=True)
class RunCommand:
    """The `fwbench run` command of one job; str() is the shell-quoted command line.

    A plain object on purpose: Snakemake does not record params it cannot represent, so the
    grid's hash, version and protocol can change without marking finished runs for a rerun.
    """

    argv: tuple[str, ...]

    def __str__(self) -> str:
        return shlex.join(self.argv)


def run_command(grid: Grid, gc: GridCell, repetition: int, out: str | os.PathLike[str],
                compile_cache_dir: str | os.PathLike[str] | None = None) -> RunCommand:
    """The `fwbench run` command of one (cell, repetition) job writing its record to `out`."""
    c = gc.cell
    argv = [
        "fwbench", "run",
        "--framework", c.framework, "--mode", c.mode, "--model", c.model, "--size", c.size,
        "--phase", c.phase, "--batch-size", str(c.batch_size), "--seq-len", str(c.seq_len),
        "--device", c.device, "--threads", str(c.threads), "--dtype", c.dtype,
        "--seed", str(grid.seed), "--warmup", str(gc.protocol.warmup), "--steps", str(gc.protocol.steps),
        "--timeout", str(gc.protocol.timeout), "--grid-name", grid.name, "--grid-version", str(grid.version),
        "--grid-hash", grid.hash, "--repetition", str(repetition), "--keep-going", "--out", str(out),
    ]
    if compile_cache_dir is not None:
        argv += ["--compile-cache-dir", str(compile_cache_dir)]
    return RunCommand(tuple(argv))
