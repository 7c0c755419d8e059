"""`fwbench run` (measure one cell in a fresh process, write its record) and `fwbench system-id`.

Options are checked before anything runs: a bad value exits with status 2 and an argparse
message naming the option and its allowed values, and no file is written. Cell rules live in
fwbench.cells (CellError names the field); `checked_options` (shared with `fwbench accuracy`)
maps a field to its option.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from fwbench import constants as C
from fwbench.cells import Cell, CellError
from fwbench.options import int_type, positive_seconds
from fwbench.paths import COMPILE_CACHE_REL, compile_cache_for

DEFAULT_THREADS = min(C.DEFAULT_MAX_THREADS, os.cpu_count() or 1)

T = TypeVar("T")


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="measure one benchmark cell in a fresh process and write its record",
                                description=__doc__.splitlines()[0])
    pos, nonneg = int_type(1), int_type(0)
    cell = run.add_argument_group("cell")
    cell.add_argument("--framework", required=True, choices=C.FRAMEWORKS)
    cell.add_argument("--mode", required=True,
                      help="; ".join(f"{fw}: {', '.join(modes)}" for fw, modes in C.MODES.items()))
    cell.add_argument("--model", required=True, choices=C.MODELS)
    cell.add_argument("--size", help="default: " + ", ".join(f"{m} {s}" for m, s in C.DEFAULT_SIZE.items()) + "; "
                      + "; ".join(f"{m}: {', '.join(s)}" for m, s in C.SIZES.items()))
    cell.add_argument("--phase", required=True, choices=C.PHASES)
    cell.add_argument("--batch-size", type=pos, help=f"default per model: {C.DEFAULT_BATCH_SIZE}")
    cell.add_argument("--seq-len", type=nonneg, help=f"default per model: {C.DEFAULT_SEQ_LEN} (0 for cnn)")
    cell.add_argument("--device", default="cpu", choices=C.DEVICES)
    cell.add_argument("--threads", type=pos, default=DEFAULT_THREADS, help=f"default {DEFAULT_THREADS}")
    cell.add_argument("--dtype", default="float32", choices=C.DTYPES)
    cell.add_argument("--runtime", default=C.NATIVE_RUNTIME, choices=C.ALL_RUNTIMES,
                      help="inference runtime (fwbench.constants.RUNTIMES: exported from the default mode, infer only)")
    cell.add_argument("--backend", default=C.NATIVE_BACKEND, choices=C.ALL_BACKENDS,
                      help="Keras 3 backend of a keras cell (fwbench.constants.BACKENDS); native for the other frameworks")
    cell.add_argument("--variant", default=C.STANDARD_VARIANT, choices=C.ALL_VARIANTS,
                      help="implementation variant (fwbench.constants.VARIANTS: which exist per framework and model)")
    proto = run.add_argument_group("protocol")
    proto.add_argument("--seed", type=nonneg, default=C.DEFAULT_SEED)
    proto.add_argument("--warmup", type=nonneg, default=C.DEFAULT_WARMUP, help=f"default {C.DEFAULT_WARMUP}")
    proto.add_argument("--steps", type=pos, default=C.DEFAULT_STEPS, help=f"measured steps, default {C.DEFAULT_STEPS}")
    proto.add_argument("--timeout", type=positive_seconds, default=C.DEFAULT_TIMEOUT_S,
                       help=f"seconds for the whole worker process, default {C.DEFAULT_TIMEOUT_S:g}")
    proto.add_argument("--compile-cache-dir", help="TORCHINDUCTOR_CACHE_DIR for torch compile "
                       f"(default {COMPILE_CACHE_REL}/<grid-name or adhoc>)")
    output = run.add_argument_group("output")
    add_output_options(output, "run")
    output.add_argument("--position", type=nonneg,
                        help="the run's place in its repetition round's randomized order (set by the workflow)")
    run.set_defaults(func=handle_run, _parser=run)

    sysid = subparsers.add_parser("system-id", help="print this host's system id (hash of its hardware)")
    sysid.set_defaults(func=handle_system_id)


def add_output_options(group: Any, record: str) -> None:
    """--out, --keep-going, --grid-name/--grid-version/--grid-hash and --repetition, shared by
    `fwbench run` and `fwbench accuracy` (read back by checked_options and exit_code)."""
    group.add_argument("--out", required=True, help=f"path of the JSON {record} record")
    group.add_argument("--keep-going", action="store_true",
                       help="exit 0 also for failed/oom/timeout runs (the record holds the status)")
    group.add_argument("--grid-name")
    group.add_argument("--grid-version")
    group.add_argument("--grid-hash")
    group.add_argument("--campaign-id", type=campaign_id_type,
                       help="the campaign the run belongs to (see `fwbench campaign`); omitted for an ad-hoc run")
    group.add_argument("--repetition", type=int_type(0), default=0)


def campaign_id_type(text: str) -> str:
    """argparse type: a campaign id (fwbench.campaigns.ID_PATTERN)."""
    from fwbench.campaigns import ID_PATTERN

    if not ID_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"invalid campaign id {text!r}; allowed: UTC time and 4 hex digits, "
                                         "e.g. 20261129T223500Z-3f9a")
    return text


def exit_code(record: dict[str, Any], args: argparse.Namespace) -> int:
    """0 for an ok or skipped run, or for any run with --keep-going; else 1."""
    return 0 if record["status"] in ("ok", "skipped") or args.keep_going else 1


def build_cell(args: argparse.Namespace) -> Cell:
    """The cell from parsed options, defaults filled per model; CellError on a bad value."""
    size = args.size or C.DEFAULT_SIZE[args.model]
    seq_len = C.DEFAULT_SEQ_LEN[args.model] if args.seq_len is None else args.seq_len
    if args.model in C.IMAGE_MODELS and seq_len != 0:
        raise CellError("seq_len", seq_len, f"0 for model {args.model} (images have no sequence)")
    batch = C.DEFAULT_BATCH_SIZE[args.model] if args.batch_size is None else args.batch_size
    return Cell(framework=args.framework, mode=args.mode, model=args.model, size=size, phase=args.phase,
                batch_size=batch, seq_len=seq_len, device=args.device, threads=args.threads, dtype=args.dtype,
                variant=args.variant, runtime=args.runtime, backend=args.backend)


def _grid(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    from fwbench.grid import GridRef

    given = [args.grid_name, args.grid_version, args.grid_hash]
    if not any(v is not None for v in given):
        return None
    if not all(v for v in given):
        parser.error("argument --grid-name/--grid-version/--grid-hash: give all three (a grid run) or none "
                     "(an ad-hoc run)")
    version: str | int = int(args.grid_version) if args.grid_version.isdigit() else args.grid_version
    return GridRef(name=args.grid_name, version=version, hash=args.grid_hash)


def checked_options(args: argparse.Namespace, build: Callable[[argparse.Namespace], T]) -> tuple[T, Any]:
    """The cell built by `build(args)` and the grid (or None), checked before anything runs.

    Shared by `fwbench run` and `fwbench accuracy`: a CellError, an incomplete grid triple or an
    --out that is a directory exits with status 2 via parser.error, naming the option (field
    batch_size -> --batch-size) and its allowed values.
    """
    parser: argparse.ArgumentParser = args._parser
    try:
        cell = build(args)
    except CellError as exc:
        option = f"--{exc.field.replace('_', '-')}"
        context = f" for --framework {args.framework}" if exc.field == "mode" else ""
        context = f" for --model {args.model}" if exc.field == "size" else context
        parser.error(f"argument {option}: invalid value {exc.value!r}{context}; allowed: {exc.allowed}")
    grid = _grid(args, parser)
    if os.path.isdir(args.out):
        parser.error(f"argument --out: {args.out!r} is a directory; allowed: a file path for the JSON record")
    return cell, grid


def handle_run(args: argparse.Namespace) -> int:
    cell, grid = checked_options(args, build_cell)

    from fwbench.harness.record import RunContext
    from fwbench.harness.runner import cache_dir_state, run_cell

    cache_dir = None
    if cell.framework == "torch" and cell.mode == "compile":
        cache_dir = os.path.abspath(args.compile_cache_dir or compile_cache_for(grid.name if grid else None))
    ctx = RunContext(cell=cell, seed=args.seed, warmup=args.warmup, steps=args.steps, timeout_s=args.timeout,
                     grid=grid, campaign_id=args.campaign_id, repetition=args.repetition, position=args.position,
                     compile_cache_dir=cache_dir,
                     compile_cache_state=cache_dir_state(cache_dir) if cache_dir else "none")
    record = run_cell(ctx, args.out)
    _summary(record, args.out)
    return exit_code(record, args)


def _summary(record: dict[str, Any], out: str) -> None:
    status, cell = record["status"], record["cell"]
    name = f"{cell['framework']}/{cell['mode']} {cell['model']}-{cell['size']} {cell['phase']} ({record['cell_id']})"
    if status == "ok":
        steps = sorted(record["steps"]["measured_ms"])
        median = steps[len(steps) // 2] if len(steps) % 2 else sum(steps[len(steps) // 2 - 1:][:2]) / 2
        line = f"ok {name}: median step {median:.2f} ms, {record['throughput']:.1f} samples/s"
    else:
        first_line = (record["error"] or "").strip().splitlines()[-1:] or [""]
        line = f"{status} {name}: {first_line[0]}"
    print(f"{line} -> {out}")


def handle_system_id(args: argparse.Namespace) -> int:
    from fwbench.harness.fingerprint import system_id

    print(system_id())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
