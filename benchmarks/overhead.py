#!/usr/bin/env python
"""Harness overhead: the harness's steady-state median step time vs a bare hand-written loop.

For cnn and lstm training at threads=2 (torch eager, tensorflow eager and tensorflow function),
runs `fwbench.harness.runner.run_cell` (worker process, phase clocks, sync, memory, checkpoints)
and a bare loop in its own fresh process (`--bare`: thread settings, the same model from
fwbench.models, a hand-written train step, perf_counter around each step and `.item()`/
`.numpy()`), alternating harness/bare processes `--reps` times. Step times differ by a few
percent between processes of the same cell, so each side's figure is the median over its
processes of each process's median measured step. Target: |difference| within 3%.

A script, not a test: it takes minutes and needs a quiet machine.
    .venv/bin/python benchmarks/overhead.py [--reps 3] [--warmup 10] [--steps 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THREADS = 2
CONFIGS: list[tuple[str, str, str]] = [
    ("torch", "eager", "cnn"), ("torch", "eager", "lstm"),
    ("tensorflow", "eager", "cnn"), ("tensorflow", "eager", "lstm"),
    ("tensorflow", "function", "cnn"), ("tensorflow", "function", "lstm"),
]


def bare_loop(framework: str, mode: str, model: str, size: str, batch: int, seq_len: int, warmup: int,
              steps: int, seed: int) -> list[float]:
    """The baseline: what a careful person would type, in a process of its own."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = str(THREADS)
    os.environ.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    from fwbench.models import get_family

    family = get_family(model)
    config = family.config(size, seq_len)
    batch_np = family.make_batch(config, batch, seq_len, seed)
    if framework == "torch":
        import numpy as np
        import torch
        import torch.nn.functional as F

        torch.set_num_threads(THREADS)
        torch.set_num_interop_threads(THREADS)
        net = family.build_torch(config, seed)
        data = {k: torch.from_numpy(np.ascontiguousarray(v.transpose(0, 3, 1, 2) if v.ndim == 4 else v))
                for k, v in batch_np.items()}
        labels = data.pop("labels")
        opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
        net.train()

        def step() -> float:
            opt.zero_grad(set_to_none=True)
            logits = net(**data)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
            loss.backward()
            opt.step()
            return loss.item()
    else:
        import keras
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        net = family.build_tf(config, seed)
        data = {k: tf.convert_to_tensor(v) for k, v in batch_np.items()}
        labels = data.pop("labels")
        opt = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
        opt.build(net.trainable_variables)

        def train(inputs: dict, y: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=net(inputs, training=True)))
            opt.apply(tape.gradient(loss, net.trainable_variables), net.trainable_variables)
            return loss

        fn = tf.function(train) if mode == "function" else train

        def step() -> float:
            return fn(data, labels).numpy()

    step()  # first step (trace), as the harness does
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def harness_median(framework: str, mode: str, model: str, size: str, batch: int, seq_len: int, warmup: int,
                   steps: int, seed: int) -> float:
    from fwbench.cells import Cell
    from fwbench.harness.record import RunContext
    from fwbench.harness.runner import run_cell

    cell = Cell(framework=framework, mode=mode, model=model, size=size, phase="train", batch_size=batch,
                seq_len=seq_len, device="cpu", threads=THREADS)
    with tempfile.TemporaryDirectory() as tmp:
        record = run_cell(RunContext(cell=cell, seed=seed, warmup=warmup, steps=steps, timeout_s=1800),
                          Path(tmp) / "run.json", log=None)
    if record["status"] != "ok":
        raise RuntimeError(f"harness run failed: {record['error']}")
    return statistics.median(record["steps"]["measured_ms"])


def bare_median(args: argparse.Namespace, framework: str, mode: str, model: str, size: str, batch: int,
                seq_len: int) -> float:
    cmd = [sys.executable, __file__, "--bare", framework, mode, model, "--size", size, "--batch", str(batch),
           "--seq-len", str(seq_len), "--warmup", str(args.warmup), "--steps", str(args.steps)]
    # Own session like the harness worker: with sched autogroup, a session is the unit of CPU share.
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, start_new_session=True).stdout
    return statistics.median(json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bare", nargs=3, metavar=("FRAMEWORK", "MODE", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--size", default="small")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--seq-len", type=int)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3, help="processes per side and config")
    parser.add_argument("--only", help="comma list of framework/mode/model to run, e.g. torch/eager/cnn")
    args = parser.parse_args()
    if args.bare:
        framework, mode, model = args.bare
        print(json.dumps(bare_loop(framework, mode, model, args.size, args.batch, args.seq_len, args.warmup,
                                   args.steps, 0)))
        return 0

    from fwbench import constants as C

    configs = CONFIGS if not args.only else [tuple(c.split("/")) for c in args.only.split(",")]
    rows = []
    print(f"# harness vs bare loop, train, size {args.size}, threads {THREADS}, warmup {args.warmup}, "
          f"steps {args.steps}, {args.reps} processes per side (alternating)", flush=True)
    for framework, mode, model in configs:
        batch = args.batch or C.DEFAULT_BATCH_SIZE[model]
        seq_len = C.DEFAULT_SEQ_LEN[model] if args.seq_len is None else args.seq_len
        harness, bare = [], []
        for _ in range(args.reps):
            harness.append(harness_median(framework, mode, model, args.size, batch, seq_len, args.warmup,
                                          args.steps, 0))
            bare.append(bare_median(args, framework, mode, model, args.size, batch, seq_len))
        h, b = statistics.median(harness), statistics.median(bare)
        diff = 100.0 * (h - b) / b
        rows.append((f"{framework}/{mode}/{model}", h, b, diff, harness, bare))
        print(f"{framework}/{mode}/{model}: harness {[round(x, 2) for x in harness]} bare "
              f"{[round(x, 2) for x in bare]}", flush=True)
    print(f"\n{'cell':<26}{'harness ms':>12}{'bare ms':>12}{'diff %':>9}  within 3%")
    for name, h, b, diff, _, _ in rows:
        print(f"{name:<26}{h:>12.2f}{b:>12.2f}{diff:>+9.2f}  {'yes' if abs(diff) <= 3 else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
