"""Experiment grids: load a workflow/grids/NAME.yaml, validate it, and say which cells it means.

A grid is data. This module is the one place that reads it; fwbench.jobs turns the loaded grid
into jobs (speed runs, the accuracy track) and their commands, so the Snakefile, `fwbench grid`
and the tests agree on what a grid means. Validation happens before any job runs and names the
file, the field and the allowed values (taken from the schema, whose enums a test keeps equal to
fwbench.constants); expanding the cells is part of it, so a duplicate cell or an exclusion that
matches nothing fails at load. Cell ids come from fwbench.cells.cell_id, so editing a grid adds
or removes runs without renaming any other.
"""

from __future__ import annotations

import copy
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml

from fwbench import constants as C
from fwbench.cells import Cell, CellError
from fwbench.ids import short_hash
from fwbench.paths import GRIDS_DIR, SCHEMAS_DIR
from fwbench.schemas import schema_errors

GRID_SCHEMA = SCHEMAS_DIR / "grid.schema.yaml"
GRID_ROOT = "<grid>"
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
    #: implementation variants; each framework/model of the block gets those of them it has
    #: (constants.VARIANTS): `channels_last` adds torch cells, `fused_bn` TensorFlow ones.
    variants: tuple[str, ...] = (C.STANDARD_VARIANT,)
    #: inference runtimes (constants.RUNTIMES); an exported runtime adds cells only where it applies:
    #: phase infer, the framework's default mode, the standard model (fwbench.cells.check_runtime).
    runtimes: tuple[str, ...] = (C.NATIVE_RUNTIME,)
    #: Keras 3 backends of the block's keras cells (None: every one of constants.KERAS_BACKENDS); other
    #: frameworks run natively.
    backends: tuple[str, ...] | None = None


@dataclass(frozen=True)
class GridCell:
    """A cell of a grid with the protocol it is measured with and the block that produced it."""

    cell: Cell
    protocol: Protocol
    block: str

    @property
    def cell_id(self) -> str:
        return self.cell.cell_id


@dataclass(frozen=True)
class AccuracyModel:
    """One model of the accuracy section: the size it trains at, for how many epochs, at which lr."""

    size: str
    epochs: int
    lr: float


@dataclass(frozen=True)
class AccuracySection:
    """The grid's optional accuracy track (claim C08), defaults filled from fwbench.constants.

    fwbench.jobs expands it into one job per framework x model x seed.
    """

    frameworks: tuple[str, ...]
    models: dict[str, AccuracyModel]
    seeds: int
    batch_size: int
    lr_schedule: str
    threads: int
    timeout: float


@dataclass(frozen=True)
class GridRef:
    """Which grid a record (run, accuracy run, campaign) belongs to: name, version, content hash."""

    name: str
    version: str | int
    hash: str

    def as_record(self) -> dict[str, Any]:
        """The record's `grid` object."""
        return {"name": self.name, "version": self.version, "hash": self.hash}


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
    accuracy: AccuracySection | None = None
    description: str = ""
    hash: str = ""
    cores: int = 1  # resolves threads "all"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def ref(self) -> GridRef:
        """What a record (run, accuracy run, campaign) says about this grid."""
        return GridRef(self.name, self.version, self.hash)


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
    return short_hash(data)


def grid_schema_errors(data: Any) -> list[str]:
    """Every schema violation of a grid as 'field: problem; allowed: ...' (empty when valid)."""
    return schema_errors(data, "grid", root=GRID_ROOT)


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
    problems = grid_schema_errors(data)
    if not problems and validate is not None:
        try:
            validate(copy.deepcopy(data), str(GRID_SCHEMA))  # it fills schema defaults in: not into ours
        except Exception as exc:  # noqa: BLE001 - rephrased with the field below
            problems = grid_schema_errors(data) or [str(exc)]
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise GridError(f"{path}: invalid grid: {problems[0]}{more}")
    grid = _parse(data, path, cores or os.cpu_count() or 1)
    expand_cells(grid)  # fail now on duplicates, bad cells, dead exclusions
    return grid


def _protocol(data: dict[str, Any], base: Protocol | None = None) -> Protocol:
    merged = {**(base.__dict__ if base else {}), **data}
    return Protocol(warmup=int(merged["warmup"]), steps=int(merged["steps"]), timeout=float(merged["timeout"]))


def _accuracy(data: dict[str, Any] | None) -> AccuracySection | None:
    """The schema-valid accuracy section with every default filled in (None without one)."""
    if data is None:
        return None
    models = data.get("models", {model: {} for model in C.ACCURACY_DEFAULT_EPOCHS})
    return AccuracySection(
        frameworks=tuple(data.get("frameworks", C.CLAIMS_FRAMEWORKS)),
        models={model: AccuracyModel(size=(options or {}).get("size", C.ACCURACY_DEFAULT_SIZE[model]),
                                     epochs=int((options or {}).get("epochs", C.ACCURACY_DEFAULT_EPOCHS[model])),
                                     lr=float((options or {}).get("lr", C.ACCURACY_DEFAULT_LR[model])))
                for model, options in models.items()},
        seeds=int(data.get("seeds", C.ACCURACY_DEFAULT_SEEDS)),
        batch_size=int(data.get("batch_size", C.ACCURACY_DEFAULT_BATCH_SIZE)),
        lr_schedule=str(data.get("lr_schedule", C.ACCURACY_DEFAULT_LR_SCHEDULE)),
        threads=int(data.get("threads", C.DEFAULT_MAX_THREADS)),
        timeout=float(data.get("timeout", C.DEFAULT_TIMEOUT_S)),
    )


def _parse(data: dict[str, Any], path: Path, cores: int) -> Grid:
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
                variants=tuple(raw.get("variants", (C.STANDARD_VARIANT,))),
                runtimes=tuple(raw.get("runtimes", (C.NATIVE_RUNTIME,))),
                backends=tuple(raw["backends"]) if "backends" in raw else None,
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
        accuracy=_accuracy(data.get("accuracy")),
        description=str(data.get("description", "")).strip(),
        hash=grid_hash(data),
        cores=cores,
        raw=data,
    )


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


def _check_variants(block: Block) -> None:
    """CellError for a listed variant that no framework and model of the block has."""
    offered = {v for fw in block.frameworks for model in block.models for v in C.VARIANTS[fw][model]}
    for variant in block.variants:
        if variant not in offered:
            raise CellError("variants", variant, f"{', '.join(sorted(offered))} (the variants of this block's "
                                                 "frameworks and models, fwbench.constants.VARIANTS)")


def _check_runtimes(block: Block) -> None:
    """CellError for a listed runtime that no framework of the block has, or an exported runtime in a block
    without a cell it applies to (inference in the framework's default mode)."""
    for runtime in block.runtimes:
        owners = [fw for fw in block.frameworks if runtime in C.RUNTIMES[fw]]
        if not owners:
            offered = sorted({r for fw in block.frameworks for r in C.RUNTIMES[fw]})
            raise CellError("runtimes", runtime, f"{', '.join(offered)} (the runtimes of this block's frameworks, "
                                                 "fwbench.constants.RUNTIMES)")
        if runtime != C.NATIVE_RUNTIME and not ("infer" in block.phases and any(
                C.DEFAULT_MODES[fw] in block.frameworks[fw] for fw in owners)):
            raise CellError("runtimes", runtime, "a block with phase infer and the framework's default mode "
                                                 f"({', '.join(f'{fw} {C.DEFAULT_MODES[fw]}' for fw in owners)}): "
                                                 "an exported runtime serves inference of that model")


def _runtimes(block: Block, framework: str, mode: str, phase: str, variant: str) -> list[str]:
    """The block's runtimes that apply to one framework/mode/phase/variant (see Block.runtimes)."""
    exported_ok = phase == "infer" and mode == C.DEFAULT_MODES[framework] and variant == C.STANDARD_VARIANT
    return [r for r in block.runtimes if r in C.RUNTIMES[framework] and (r == C.NATIVE_RUNTIME or exported_ok)]


def _block_cells(block: Block, cores: int) -> Iterable[Cell]:
    _check_variants(block)
    _check_runtimes(block)
    if block.backends is not None and "keras" not in block.frameworks:
        raise CellError("backends", list(block.backends), "a block with framework keras (the backends are Keras 3's; "
                                                          "other frameworks run natively)")
    framework_modes = [(fw, m) for fw, modes in block.frameworks.items() for m in modes]
    model_sizes = [(mo, s) for mo, sizes in block.models.items() for s in sizes]
    threads = resolve_threads(block.threads, cores)
    for (model, size), (fw, mode), phase, device, dtype, n_threads in itertools.product(
        model_sizes, framework_modes, block.phases, block.devices, block.dtypes, threads
    ):
        batches = block.batch_sizes or (C.DEFAULT_BATCH_SIZE[model],)
        seq_lens = (0,) if model in C.IMAGE_MODELS else (block.seq_lens or (C.DEFAULT_SEQ_LEN[model],))
        variants = [v for v in block.variants if v in C.VARIANTS[fw][model]]
        backends = [b for b in block.backends or C.KERAS_BACKENDS if b in C.BACKENDS[fw]] or [C.NATIVE_BACKEND]
        for batch, seq_len, variant, backend in itertools.product(batches, seq_lens, variants, backends):
            for runtime in _runtimes(block, fw, mode, phase, variant):
                if runtime != C.NATIVE_RUNTIME and device != "cpu":
                    continue  # exported runtimes run on CPU (fwbench.cells.check_runtime)
                yield Cell(framework=fw, mode=mode, model=model, size=size, phase=phase, batch_size=batch,
                           seq_len=seq_len, device=device, threads=n_threads, dtype=dtype, variant=variant,
                           runtime=runtime, backend=backend)


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

    `cores` resolves threads "all" (default: the cores the grid was loaded for). GridError when two
    blocks list a cell with different protocols or an exclusion matches nothing.
    """
    cores = cores or grid.cores
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


def cells_by_id(grid: Grid, cores: int | None = None) -> dict[str, GridCell]:
    """Cell id -> GridCell, for the workflow's wildcard lookups."""
    return {gc.cell_id: gc for gc in expand_cells(grid, cores)}
