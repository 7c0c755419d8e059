"""`fwbench accuracy`: train one accuracy cell in a fresh process and write its record.

Options are checked before anything runs, as in `fwbench run`: a bad value exits with status 2
and an argparse message naming the option and its allowed values, and no file is written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fwbench import constants as C
from fwbench.accuracy.spec import DEFAULT_MODE, LR_SCHEDULES, MODELS, AccuracyCell, DATASETS, LRSchedule
from fwbench.harness.cli import DEFAULT_THREADS, add_output_options, checked_options, exit_code
from fwbench.options import int_type, positive_float_type, positive_seconds

_positive_lr = positive_float_type("a positive number")


def register(subparsers: Any) -> None:
    acc = subparsers.add_parser("accuracy", help="train one model to a fixed number of epochs (accuracy track, "
                                "claim C08) in a fresh process and write its record", description=__doc__.splitlines()[0])
    pos, nonneg = int_type(1), int_type(0)
    cell = acc.add_argument_group("cell")
    cell.add_argument("--framework", required=True, choices=C.CLAIMS_FRAMEWORKS)
    cell.add_argument("--mode", help="default: " + ", ".join(f"{f} {m}" for f, m in DEFAULT_MODE.items()) + "; "
                      + "; ".join(f"{fw}: {', '.join(modes)}" for fw, modes in C.MODES.items()))
    cell.add_argument("--model", required=True, choices=MODELS,
                      help="; ".join(f"{m} trains on {d}" for m, d in DATASETS.items()))
    cell.add_argument("--size", help="default: " + ", ".join(f"{m} {s}" for m, s in C.ACCURACY_DEFAULT_SIZE.items()) + "; "
                      + "; ".join(f"{m}: {', '.join(C.SIZES[m])}" for m in MODELS))
    cell.add_argument("--epochs", type=pos, help="default per model: " + ", ".join(f"{m} {e}" for m, e in C.ACCURACY_DEFAULT_EPOCHS.items()))
    cell.add_argument("--batch-size", type=pos, default=C.ACCURACY_DEFAULT_BATCH_SIZE, help=f"default {C.ACCURACY_DEFAULT_BATCH_SIZE}")
    cell.add_argument("--lr-schedule", default=C.ACCURACY_DEFAULT_LR_SCHEDULE, choices=LR_SCHEDULES,
                      help="step: lr x 0.1 at 50%% and 75%% of the epochs")
    cell.add_argument("--lr", type=_positive_lr, help="base learning rate; default per model: "
                      + ", ".join(f"{m} {v:g}" for m, v in C.ACCURACY_DEFAULT_LR.items()))
    cell.add_argument("--seed", type=nonneg, default=C.DEFAULT_SEED, help=f"initial weights and data order; default {C.DEFAULT_SEED}")
    cell.add_argument("--threads", type=pos, default=DEFAULT_THREADS, help=f"default {DEFAULT_THREADS}")
    cell.add_argument("--device", default="cpu", choices=C.DEVICES)
    run = acc.add_argument_group("run")
    run.add_argument("--timeout", type=positive_seconds, default=C.DEFAULT_TIMEOUT_S,
                     help=f"seconds for the whole worker process, default {C.DEFAULT_TIMEOUT_S:g}")
    add_output_options(run, "accuracy")
    acc.set_defaults(func=handle_accuracy, _parser=acc)


def build_cell(args: argparse.Namespace) -> AccuracyCell:
    """The accuracy cell from parsed options, defaults filled per model; CellError on a bad value."""
    epochs = args.epochs or C.ACCURACY_DEFAULT_EPOCHS[args.model]
    lr = args.lr if args.lr is not None else C.ACCURACY_DEFAULT_LR[args.model]
    return AccuracyCell(framework=args.framework, mode=args.mode or DEFAULT_MODE[args.framework], model=args.model,
                        size=args.size or C.ACCURACY_DEFAULT_SIZE[args.model], dataset=DATASETS[args.model], epochs=epochs,
                        batch_size=args.batch_size, lr_schedule=LRSchedule.make(args.lr_schedule, epochs, lr),
                        seed=args.seed, threads=args.threads, device=args.device)


def handle_accuracy(args: argparse.Namespace) -> int:
    cell, grid = checked_options(args, build_cell)

    from fwbench.accuracy.runner import AccuracyContext, run_accuracy

    ctx = AccuracyContext(cell=cell, timeout_s=args.timeout, grid=grid, repetition=args.repetition,
                          campaign_id=args.campaign_id)
    record = run_accuracy(ctx, args.out)
    _summary(record, args.out)
    return exit_code(record, args)


def _summary(record: dict[str, Any], out: str) -> None:
    cell = record["cell"]
    name = (f"{cell['framework']}/{cell['mode']} {cell['model']}-{cell['size']} on {cell['dataset']} "
            f"seed {cell['seed']} ({record['cell_id']})")
    if record["status"] == "ok":
        train_s = record["timings"]["train_s"] or 0.0
        line = (f"ok {name}: val accuracy {record['final_val_accuracy']:.4f} after {len(record['epochs'])} epochs, "
                f"{train_s:.1f} s training")
    else:
        last = (record["error"] or "").strip().splitlines()[-1:] or [""]
        line = f"{record['status']} {name}: {last[0]}"
    print(f"{line} -> {out}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
