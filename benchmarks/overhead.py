#!/usr/bin/env python
"""Harness overhead: the harness's steady step time vs a bare hand-written training loop.

On a shared VM the step time of a fixed workload drifts by 10-20% within seconds, and the drift is
machine-wide (a plain numpy matmul loop shows it too). A few processes per side therefore cannot
resolve 3%, and two sequential processes differ by more than that by chance. So two designs:

interleaved  One fresh process started with the harness worker's environment
             (fwbench.harness.environment.worker_env) sets up the framework the harness's way
             (backend.import_framework + configure), builds the harness's workload
             (backend.build under the device scope: fwbench.models.training steps, inputs, mode
             wrapper) and, outside any scope on a second copy of the model, a hand-written step;
             then it alternates single steps in ABBA order, timed the harness's way (under the
             device scope, timing.time_steps with backend.sync) and the bare way (perf_counter
             around the step and its .item()/.numpy()). Drift hits both sides alike, so it can
             resolve differences far below 3%. The first step's losses of both must agree (else the
             verdict is "invalid").
processes    The whole harness, `fwbench.harness.runner.run_cell` (worker process, phase clocks,
             memory tracking, checkpoints, record), against the bare loop in a fresh process of its
             own, in ABBA-ordered pairs. This also covers process set-up (environment, thread
             settings, memory tracking), but carries the machine's drift as noise.

Both designs are paired, so drift common to a pair cancels: per design and config the overhead is
the median over pairs of harness/bare (interleaved: adjacent steps; processes: adjacent processes'
median step times) with bootstrap CIs (fwbench.stats.bootstrap.median_ci on the log ratios).
Verdict: "within 3%" if the 90% CI lies inside [0.97, 1.03] (TOST at 5% done as CI inclusion),
"outside 3%" if the 95% CI lies outside it, else "not resolved"; no verdict from fewer than 6
pairs. Results, with every step time and the system fingerprint, are written to
benchmarks/results/overhead-<system_id>-<UTC time>.json (every run is kept).

A script, not a test: it takes about 75 minutes with the defaults and needs a quiet machine.
    .venv/bin/python benchmarks/overhead.py [--design both] [--pairs 16] [--procs 10] [--only torch/eager/cnn]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

THREADS = 2
SEED = 0
MARGIN = 0.03
RESULTS_DIR = Path(__file__).resolve().parent / "results"
CONFIGS: list[str] = ["torch/eager/cnn", "torch/eager/lstm", "tensorflow/function/cnn", "tensorflow/function/lstm"]
BARE_MODES: dict[str, tuple[str, ...]] = {"torch": ("eager",), "tensorflow": ("eager", "function", "xla")}
# The bare step must compute what the harness's step computes: their first losses agree to this.
LOSS_RTOL = 1e-5


def bare_step(framework: str, mode: str, family: Any, config: Any, batch_np: dict[str, Any]) -> Callable[[], float]:
    """The baseline: one training step as a careful person would type it; returns the loss as a float."""
    if framework == "torch":
        import numpy as np
        import torch
        import torch.nn.functional as F

        net = family.build_torch(config, SEED)
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
        return step

    import keras
    import tensorflow as tf

    net = family.build_tf(config, SEED)
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

    fn = {"eager": train, "function": tf.function(train), "xla": tf.function(train, jit_compile=True)}[mode]
    return lambda: float(fn(data, labels).numpy())


def _family_and_batch(model: str, size: str, batch: int, seq_len: int) -> tuple[Any, Any, dict[str, Any]]:
    from fwbench.models import get_family

    family = get_family(model)
    config = family.config(size, seq_len)
    return family, config, family.make_batch(config, batch, seq_len, SEED)


def bare_process(framework: str, mode: str, model: str, size: str, batch: int, seq_len: int, warmup: int,
                 steps: int) -> list[float]:
    """A whole bare run in this (fresh) process: thread settings first, then build, trace, warm up, time."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                "TF_NUM_INTEROP_THREADS"):
        os.environ[var] = str(THREADS)
    os.environ.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    if framework == "torch":
        import torch

        torch.set_num_threads(THREADS)
        torch.set_num_interop_threads(THREADS)
    else:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    step = bare_step(framework, mode, *_family_and_batch(model, size, batch, seq_len))
    for _ in range(1 + warmup):  # first step (trace), then warmup, as the harness does
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def interleaved_process(framework: str, mode: str, model: str, size: str, batch: int, seq_len: int, warmup: int,
                        steps: int) -> dict[str, Any]:
    """Harness workload and bare step side by side in this process (started with the worker's environment)."""
    from fwbench.harness.backends import get_backend
    from fwbench.harness.timing import time_steps

    backend = get_backend(framework)
    backend.import_framework()
    backend.configure(THREADS, SEED, "cpu")
    family, config, batch_np = _family_and_batch(model, size, batch, seq_len)
    with backend.device_scope("cpu"):
        workload = backend.build(family, config, batch_np, mode, "train", "cpu", SEED)
    bare = bare_step(framework, mode, family, config, batch_np)  # outside any device scope, as a script is
    harness_ms: list[float] = []
    bare_ms: list[float] = []

    def timed_harness(keep: bool) -> None:
        with backend.device_scope("cpu"):  # entered outside the clock, active during the step: as in the worker
            time_steps(workload.step, backend.sync, 1, harness_ms if keep else [])

    def timed_bare(keep: bool) -> None:
        start = time.perf_counter()
        bare()
        if keep:
            bare_ms.append((time.perf_counter() - start) * 1000.0)

    # First step (trace) of each: the same model, weights and batch give the same loss.
    with backend.device_scope("cpu"):
        first_loss = {"harness": float(workload.step())}
    first_loss["bare"] = bare()
    for _ in range(warmup):
        timed_harness(keep=False)
        timed_bare(keep=False)
    for i in range(steps):  # ABBA: each side goes first in half of the pairs
        for timed in (timed_harness, timed_bare) if i % 2 == 0 else (timed_bare, timed_harness):
            timed(keep=True)
    return {"harness_ms": harness_ms, "bare_ms": bare_ms, "first_loss": first_loss}


def _child(kind: str, config: str, args: argparse.Namespace, batch: int, seq_len: int, env: dict[str, str]) -> Any:
    """Run `kind` (bare|interleaved) in a fresh process in its own session (as the harness worker is)."""
    cmd = [sys.executable, __file__, f"--{kind}", config, "--size", args.size, "--batch", str(batch),
           "--seq-len", str(seq_len), "--warmup", str(args.warmup), "--steps", str(args.steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, start_new_session=True)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} process for {config} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def harness_run(config: str, args: argparse.Namespace, batch: int, seq_len: int) -> list[float]:
    """One harness run (worker process and record) of the config; its measured step times."""
    from fwbench.cells import Cell
    from fwbench.harness.record import RunContext
    from fwbench.harness.runner import run_cell

    framework, mode, model = config.split("/")
    cell = Cell(framework=framework, mode=mode, model=model, size=args.size, phase="train", batch_size=batch,
                seq_len=seq_len, device="cpu", threads=THREADS)
    with tempfile.TemporaryDirectory() as tmp:
        record = run_cell(RunContext(cell=cell, seed=SEED, warmup=args.warmup, steps=args.steps, timeout_s=3600),
                          Path(tmp) / "run.json", log=None)
    if record["status"] != "ok":
        raise RuntimeError(f"harness run of {config} ended {record['status']}: {record['error']}")
    return record["steps"]["measured_ms"]


def summarise(harness: list[list[float]], bare: list[list[float]], *, unit: str) -> dict[str, Any]:
    """Paired overhead: the median over pairs of log(harness/bare), its bootstrap CIs, the verdict.

    unit "step": pair i of a process is harness step i and bare step i, run back to back;
    unit "process": pair k is the k-th harness process and the k-th bare process (adjacent in time),
    compared by their median step times. Equivalence within MARGIN is TOST done as CI inclusion:
    the 90% CI of the ratio inside [1 - MARGIN, 1 + MARGIN].
    """
    import numpy as np

    from fwbench.stats.bootstrap import BCA_MIN_N, median_ci

    if unit == "step":
        logs = np.concatenate([np.log(h) - np.log(b) for h, b in zip(harness, bare, strict=True)])
    else:
        logs = np.array([np.log(np.median(h)) - np.log(np.median(b)) for h, b in zip(harness, bare, strict=True)])
    ci95, ci90 = median_ci(logs, confidence=0.95), median_ci(logs, confidence=0.90)
    low, high = math.exp(ci95.low), math.exp(ci95.high)
    if ci95.n < BCA_MIN_N:
        verdict = f"too few pairs (< {BCA_MIN_N})"
    elif 1 - MARGIN <= math.exp(ci90.low) and math.exp(ci90.high) <= 1 + MARGIN:
        verdict = f"within {MARGIN:.0%}"
    elif low > 1 + MARGIN or high < 1 - MARGIN:
        verdict = f"outside {MARGIN:.0%}"
    else:
        verdict = "not resolved"
    return {"ratio": math.exp(ci95.estimate), "ci_low": low, "ci_high": high,
            "ci90_low": math.exp(ci90.low), "ci90_high": math.exp(ci90.high),
            "ci_method": f"{ci95.method} bootstrap over {ci95.n} {unit} pairs", "verdict": verdict,
            "harness_median_ms": float(np.median([np.median(r) for r in harness])),
            "bare_median_ms": float(np.median([np.median(r) for r in bare]))}


def measure_interleaved(config: str, args: argparse.Namespace, batch: int, seq_len: int) -> dict[str, Any]:
    from fwbench.harness.environment import worker_env

    env = {**os.environ, **worker_env(THREADS, SEED, "cpu", None)}
    procs = [_child("interleaved", config, args, batch, seq_len, env) for _ in range(args.procs)]
    harness, bare = [p["harness_ms"] for p in procs], [p["bare_ms"] for p in procs]
    loss_diff = max(abs(p["first_loss"]["harness"] - p["first_loss"]["bare"]) for p in procs)
    summary = summarise(harness, bare, unit="step")
    if loss_diff > LOSS_RTOL * max(1.0, *(abs(p["first_loss"]["harness"]) for p in procs)):
        summary["verdict"] = f"invalid: bare and harness first losses differ by {loss_diff:.3g}"
    return {**summary, "processes": len(procs), "first_loss_max_abs_diff": loss_diff, "harness_ms": harness,
            "bare_ms": bare}


def measure_processes(config: str, args: argparse.Namespace, batch: int, seq_len: int) -> dict[str, Any]:
    harness: list[list[float]] = []
    bare: list[list[float]] = []
    for pair in range(args.pairs):  # ABBA over pairs
        order = ("harness", "bare") if pair % 2 == 0 else ("bare", "harness")
        for side in order:
            if side == "harness":
                harness.append(harness_run(config, args, batch, seq_len))
            else:
                bare.append(_child("bare", config, args, batch, seq_len, dict(os.environ)))
        print(f"  pair {pair + 1}/{args.pairs}: harness {statistics.median(harness[-1]):.1f} ms, "
              f"bare {statistics.median(bare[-1]):.1f} ms", flush=True)
    return {**summarise(harness, bare, unit="process"), "processes": len(harness), "harness_ms": harness,
            "bare_ms": bare}


def _row(design: str, config: str, r: dict[str, Any]) -> str:
    diff = 100.0 * (r["ratio"] - 1.0)
    ci = f"[{100 * (r['ci_low'] - 1):+.2f}, {100 * (r['ci_high'] - 1):+.2f}]"
    return (f"{design:<12}{config:<26}{r['processes']:>6}{r['harness_median_ms']:>11.1f}{r['bare_median_ms']:>10.1f}"
            f"{diff:>+8.2f}  {ci:<18}  {r['verdict']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bare", metavar="FRAMEWORK/MODE/MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--interleaved", metavar="FRAMEWORK/MODE/MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--design", choices=("interleaved", "processes", "both"), default="both")
    parser.add_argument("--size", default="small")
    parser.add_argument("--batch", type=int, help="default: the model's default batch size")
    parser.add_argument("--seq-len", type=int, help="default: the model's default sequence length")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=40, help="measured steps per side and process")
    parser.add_argument("--pairs", type=int, default=16, help="processes design: harness/bare process pairs")
    parser.add_argument("--procs", type=int, default=10, help="interleaved design: processes")
    parser.add_argument("--only", help="comma list of framework/mode/model, e.g. torch/eager/cnn")
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results/overhead-<system_id>-<UTC time>.json)")
    args = parser.parse_args()
    child = args.bare or args.interleaved
    if child:
        framework, mode, model = child.split("/")
        run = bare_process if args.bare else interleaved_process
        print(json.dumps(run(framework, mode, model, args.size, args.batch, args.seq_len, args.warmup, args.steps)))
        return 0

    from fwbench.constants import DEFAULT_BATCH_SIZE, DEFAULT_SEQ_LEN, MODELS
    from fwbench.harness.fingerprint import system_fingerprint
    from fwbench.records import write_json_atomic

    configs = args.only.split(",") if args.only else CONFIGS
    for config in configs:
        framework, _, rest = config.partition("/")
        mode, _, model = rest.partition("/")
        if mode not in BARE_MODES.get(framework, ()) or model not in MODELS:
            parser.error(f"--only: {config!r} is not FRAMEWORK/MODE/MODEL; allowed: "
                         f"{', '.join(f'{f}/{m}' for f, ms in BARE_MODES.items() for m in ms)} "
                         f"with a model in {', '.join(MODELS)}")
    designs = ("interleaved", "processes") if args.design == "both" else (args.design,)
    measure = {"interleaved": measure_interleaved, "processes": measure_processes}
    fingerprint = system_fingerprint()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = args.out or RESULTS_DIR / f"overhead-{fingerprint['system_id']}-{stamp}.json"
    results: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items() if k not in ("bare", "interleaved", "out")}
                               | {"threads": THREADS, "margin": MARGIN, "configs": configs},
                               "system": fingerprint, "results": []}
    print(f"# harness vs bare loop: train, size {args.size}, threads {THREADS}, warmup {args.warmup}, "
          f"{args.steps} steps per side and process", flush=True)
    started = time.time()
    for design in designs:
        for config in configs:
            model = config.split("/")[2]
            batch = args.batch or DEFAULT_BATCH_SIZE[model]
            seq_len = DEFAULT_SEQ_LEN[model] if args.seq_len is None else args.seq_len
            print(f"{design} {config} ...", flush=True)
            result = {"design": design, "config": config, "batch_size": batch, "seq_len": seq_len,
                      **measure[design](config, args, batch, seq_len)}
            results["results"].append(result)
            print("  " + _row(design, config, result), flush=True)
            results["wall_s"] = round(time.time() - started, 1)
            write_json_atomic(out, results)  # after every config: an interrupted run keeps what it measured
    print(f"\n{'design':<12}{'config':<26}{'procs':>6}{'harness':>11}{'bare':>10}{'diff %':>8}  "
          f"{'95% CI of diff %':<18}  verdict")
    for r in results["results"]:
        print(_row(r["design"], r["config"], r))
    print(f"\nwall time {results['wall_s']:.0f} s; results in {out}")
    return 0 if all(not math.isnan(r["ratio"]) for r in results["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
