#!/usr/bin/env python
"""Accuracy divergence: is a torch-vs-TensorFlow accuracy gap nondeterminism or chaotic divergence?

The accuracy track (fwbench.accuracy) trains the same model in both frameworks from identical
initial weights (torch's seeded init, copied into Keras) on the identical data order, yet the
shipped CNN runs end several points apart (seed 4 on system 61f2d7d45e: TensorFlow 0.763, torch
0.894). Two explanations predict different things:

nondeterminism  the same framework, seed, code and machine gives different results run to run
                -> repeated runs differ.
divergence      each framework is deterministic, but their kernels round differently (summation
                order, fused ops), and training amplifies those float-level differences into a
                different end point -> repeats are bit-identical, while a float-level nudge
                *within one framework* moves the end point about as far as switching framework.

This script measures both, with the project's own code only (fwbench.jobs/grid for the cells,
fwbench.accuracy.runner/train/data and fwbench.models for everything that trains):

shipped   From the DuckDB (accuracy_runs, accuracy_epochs; read-only): do re-runs of a cell on
          the same system (other campaigns) agree bit for bit; how close are torch's and TF's
          first-batch losses (identical weights: expect ~1 float32 ulp); how do the per-epoch
          val_accuracy curves of torch and TF separate; how far apart are the same framework
          and seed on two systems; how much does val_accuracy jump from epoch to epoch in a run.
repeat    Per seed and framework, the production path twice (fwbench.accuracy.runner.run_worker:
          a fresh worker process each time, the harness's environment): first-batch loss, every
          epoch's train_loss and val_accuracy compared bitwise, and against the shipped runs of
          this system when it is in the database. The same cells are also trained in this
          process (fwbench.accuracy.train.build_trainer + train, twice per framework) with a
          step recorder; they must equal the worker's results bitwise, which validates them as
          the baseline of the perturbation runs.
perturb   Per seed, the torch model's initial weights are multiplied by (1 + rel * N(0,1))
          (float64 arithmetic, rounded to float32; rel 1e-6 ~ 8 float32 ulps, rel 1e-7 ~ 1 ulp on
          a part of the weights) and trained again, a few independent draws; the same for the
          TensorFlow model (after the weight copy). Reported: the change of the final val
          accuracy (pp) against the unperturbed run of the same framework, to compare with the
          torch-vs-TF gap of the same seed.
separate  How fast trajectories separate: per training step the |loss difference| and, at steps
          1, 2, 4, ... and every epoch end, the relative L2 distance of all trainable weights
          (torch weights mapped into Keras layout with family.copy_torch_to_tf), plus the
          fraction of validation images predicted differently after each epoch -- for torch vs
          TF from identical weights, and for torch vs perturbed torch.
isa       Optional cross-check of "same code, other machine": the worker rerun with the CPU
          kernels restricted to AVX2 (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2, and for
          TF TF_ENABLE_ONEDNN_OPTS=0, TensorFlow's Linux default on CPUs without AVX512_VNNI,
          AVX512_BF16, AVX_VNNI or AMX), then compared with every shipped run of the cell: a
          bitwise match names the system whose CPU the restriction reproduces. Only meaningful on
          an AVX-512 host (--no-isa skips it).

Verdict (summary.verdict): "nondeterminism" if any repeat differs in any bit; otherwise
"divergence" if the mean |final shift| of the torch nudges (largest over --rel) is at least a third
of the mean |torch - TF| final gap over the seeds, i.e. a float-level nudge inside one framework
already moves the end point by the order of the framework gap; otherwise "deterministic, but ...
look for a systematic difference".

Cells: the CNN of the default grid's accuracy section (workflow/grids/default.yaml: tiny, 4
epochs, batch 32, SGD lr 0.01 momentum 0.9, constant schedule, 2 threads; torch eager, TF
tf.function), seeds 0..4 unless --seeds says otherwise. Results, with every number printed and
every step loss, go to benchmarks/results/accuracy-divergence-<system_id>-<UTC time>.json
(rewritten after every seed, so an interrupted run keeps what it measured).

A script, not a test: about 3 minutes per seed on the 2-core reference VM, about 15 minutes with
the defaults (--no-isa saves about 30 s per seed; --seeds 4 --draws 2 --tf-draws 1 takes under 2
minutes). A busy machine changes nothing numerically, only the time:
    .venv/bin/python benchmarks/accuracy_divergence.py [--seeds 4 0 2] [--draws 5] [--tf-draws 3]
        [--rel 1e-6 1e-7] [--no-isa] [--db data/results.duckdb] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
GRID = "default"
MODEL = "cnn"
#: Weights of torch vs TF trainings are compared after these 1-based steps (and every epoch end).
SNAPSHOT_STEPS = (1, 2, 4, 8, 16, 32, 64, 128)
#: Steps at which the per-step |loss difference| is printed (all steps are in the JSON).
SHOW_STEPS = (0, 1, 2, 4, 8, 16, 32, 64, 128)
#: Loss-difference thresholds: the first step where |loss a - loss b| exceeds each is reported.
LOSS_THRESHOLDS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
#: CPU-kernel restriction that emulates an AVX2-only host (see the docstring, design "isa").
ISA_ENV: dict[str, dict[str, str]] = {
    "torch": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "tensorflow": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "TF_ENABLE_ONEDNN_OPTS": "0"},
}


# ---------------------------------------------------------------------------------------------
# helpers

def pp(a: float, b: float) -> float:
    """a - b in percentage points."""
    return round(100.0 * (a - b), 4)


def ulps32(a: float, b: float) -> float:
    """|a - b| in float32 units in the last place at a."""
    return float(abs(np.float32(a) - np.float32(b)) / np.spacing(np.float32(abs(a))))


def first_above(diffs: list[float], thresholds: tuple[float, ...] = LOSS_THRESHOLDS) -> dict[str, int | None]:
    """First 0-based step whose |loss difference| exceeds each threshold (None: never)."""
    return {f"{t:g}": next((i for i, d in enumerate(diffs) if d > t), None) for t in thresholds}


def cell_key(cell: Any) -> tuple[Any, ...]:
    s = cell.lr_schedule
    return (cell.framework, cell.mode, cell.model, cell.size, cell.epochs, cell.batch_size, s.name,
            round(s.base_lr, 12), cell.threads, cell.seed)


@contextlib.contextmanager
def environ(extra: dict[str, str]) -> Iterator[None]:
    """os.environ with `extra` set (a worker inherits it), restored afterwards."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------------------
# shipped data

def shipped(db: Path) -> dict[str, Any]:
    """Re-run determinism, first-loss agreement and trajectory separation in the shipped database."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    cols = ("run_id", "system_id", "campaign_id", "git_commit", "framework", "mode", "model", "size", "epochs",
            "batch_size", "lr_schedule", "base_lr", "threads", "seed", "first_batch_loss", "final_val_accuracy")
    runs = [dict(zip(cols, row)) for row in con.execute(
        f"select {', '.join(cols)} from accuracy_runs where status = 'ok' "
        "order by model, seed, system_id, campaign_id, framework"
    ).fetchall()]
    curves: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"val_accuracy": [], "train_loss": []})
    for run_id, _epoch, acc, loss in con.execute(
            "select run_id, epoch, val_accuracy, train_loss from accuracy_epochs order by run_id, epoch").fetchall():
        curves[run_id]["val_accuracy"].append(acc)
        curves[run_id]["train_loss"].append(loss)
    con.close()
    for r in runs:
        r.update(curves[r["run_id"]])
        r["key"] = (r["framework"], r["mode"], r["model"], r["size"], r["epochs"], r["batch_size"], r["lr_schedule"],
                    round(r["base_lr"], 12), r["threads"], r["seed"])

    # 1. re-runs of one cell on one system (other campaigns)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(r["system_id"], *r["key"])].append(r)
    reruns = []
    for (system, fw, _mode, model, *_rest, seed), rs in sorted(groups.items()):
        if len(rs) < 2:
            continue
        base = rs[0]
        reruns.append({
            "system_id": system, "framework": fw, "model": model, "seed": seed,
            "campaigns": [r["campaign_id"] for r in rs], "git_commits": sorted({r["git_commit"] for r in rs}),
            "identical": all(r["first_batch_loss"] == base["first_batch_loss"]
                             and r["val_accuracy"] == base["val_accuracy"] and r["train_loss"] == base["train_loss"]
                             for r in rs[1:]),
            "final_val_accuracy": [r["final_val_accuracy"] for r in rs],
        })

    # 2./3. torch vs TF per (system, campaign, model, seed)
    pairs = []
    by_campaign: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in runs:
        by_campaign[(r["system_id"], r["campaign_id"], r["model"], r["seed"])][r["framework"]] = r
    for (system, campaign, model, seed), fws in sorted(by_campaign.items()):
        if not {"torch", "tensorflow"} <= set(fws):
            continue
        t, f = fws["torch"], fws["tensorflow"]
        pairs.append({
            "system_id": system, "campaign_id": campaign, "model": model, "seed": seed,
            "first_batch_loss": {"torch": t["first_batch_loss"], "tensorflow": f["first_batch_loss"],
                                 "abs_diff": abs(t["first_batch_loss"] - f["first_batch_loss"]),
                                 "ulps32": ulps32(t["first_batch_loss"], f["first_batch_loss"])},
            "val_accuracy": {"torch": t["val_accuracy"], "tensorflow": f["val_accuracy"]},
            "gap_pp_per_epoch": [pp(a, b) for a, b in zip(t["val_accuracy"], f["val_accuracy"])],
            "train_loss_diff_per_epoch": [a - b for a, b in zip(t["train_loss"], f["train_loss"])],
            "final_gap_pp": pp(t["final_val_accuracy"], f["final_val_accuracy"]),
        })
    per_epoch_abs_gap: dict[str, list[float]] = {}
    for model in sorted({p["model"] for p in pairs}):
        gaps = np.array([[abs(g) for g in p["gap_pp_per_epoch"]] for p in pairs if p["model"] == model])
        per_epoch_abs_gap[model] = [round(float(x), 3) for x in gaps.mean(axis=0)]

    # 4. same framework and seed on two systems (first campaign of each)
    firsts: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in runs:
        firsts[r["key"]].setdefault(r["system_id"], r)
    cross_system = []
    for key, systems in sorted(firsts.items()):
        names = sorted(systems)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                ra, rb = systems[a], systems[b]
                cross_system.append({
                    "framework": key[0], "model": key[2], "seed": key[-1], "systems": [a, b],
                    "git_commits": [ra["git_commit"], rb["git_commit"]],
                    "first_batch_loss_equal": ra["first_batch_loss"] == rb["first_batch_loss"],
                    "first_batch_loss_ulps32": ulps32(ra["first_batch_loss"], rb["first_batch_loss"]),
                    "final_diff_pp": pp(ra["final_val_accuracy"], rb["final_val_accuracy"]),
                    "gap_pp_per_epoch": [pp(x, y) for x, y in zip(ra["val_accuracy"], rb["val_accuracy"])],
                })

    # 5. how much val_accuracy moves in the last epoch of one run (learning and BatchNorm-statistics noise)
    jumps = {model: [abs(pp(r["val_accuracy"][-1], r["val_accuracy"][-2])) for r in runs
                     if r["model"] == model and len(r["val_accuracy"]) > 1]
             for model in sorted({r["model"] for r in runs})}
    public = [{k: v for k, v in r.items() if k != "key"} for r in runs]
    return {
        "db": str(db), "runs": public, "reruns": reruns,
        "reruns_identical": f"{sum(r['identical'] for r in reruns)}/{len(reruns)}",
        "torch_vs_tf": pairs, "mean_abs_gap_pp_per_epoch": per_epoch_abs_gap,
        "cross_system": cross_system,
        "last_epoch_change_pp": {m: {"values": v, "mean": round(statistics.fmean(v), 3), "max": max(v)}
                               for m, v in jumps.items() if v},
    }


# ---------------------------------------------------------------------------------------------
# worker runs (the production path)

def worker_run(cell: Any, timeout: float, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """One `fwbench accuracy` worker process for `cell` (no record written); its numbers."""
    from fwbench.accuracy.runner import AccuracyContext, run_worker

    start = time.perf_counter()
    with environ(extra_env or {}):
        result = run_worker(AccuracyContext(cell=cell, timeout_s=timeout), log=None)
    if result.status != "ok":
        raise RuntimeError(f"worker {cell.framework} seed {cell.seed} ended {result.status}: {result.error}")
    return {"first_batch_loss": result.first_batch_loss,
            "val_accuracy": [e["val_accuracy"] for e in result.epochs],
            "train_loss": [e["train_loss"] for e in result.epochs],
            "final_val_accuracy": result.epochs[-1]["val_accuracy"], "wall_s": round(time.perf_counter() - start, 2),
            "env": extra_env or {}}


def same_numbers(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[k] == b[k] for k in ("first_batch_loss", "val_accuracy", "train_loss"))


# ---------------------------------------------------------------------------------------------
# in-process runs (fwbench.accuracy.train), recorded step by step

class Frameworks:
    """Both frameworks set up once in this process the way the worker does it."""

    def __init__(self, threads: int) -> None:
        from fwbench.harness.backends import get_backend
        from fwbench.harness.environment import apply_env, worker_env

        apply_env(worker_env(threads, 0, "cpu", None))  # before either framework loads
        self.backends = {fw: get_backend(fw) for fw in ("torch", "tensorflow")}
        for backend in self.backends.values():
            backend.import_framework()
        for backend in self.backends.values():
            backend.configure(threads, 0, "cpu")
        self._scratch: dict[Any, Any] = {}

    def scratch_tf(self, config: Any) -> Any:
        """A Keras model of `config` used only to map torch weights into Keras layout (its own
        weights never matter: copy_torch_to_tf overwrites them); built before a training starts."""
        from fwbench.models import get_family

        if config not in self._scratch:
            self._scratch[config] = get_family(MODEL).build_tf(config, 0)
        return self._scratch[config]

    def weights(self, trainer: Any, config: Any) -> np.ndarray:
        """All trainable weights as one float64 vector in Keras layout and order."""
        from fwbench.models import get_family

        model = trainer.model
        if trainer.framework == "torch":
            model = self.scratch_tf(config)
            get_family(MODEL).copy_torch_to_tf(trainer.model, model)
        return np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in model.trainable_variables])


class Recorder:
    """A Trainer that records every step's loss and weight snapshots; delegates the rest."""

    def __init__(self, inner: Any, snapshot: Any) -> None:
        self.inner, self.snapshot = inner, snapshot
        self.framework, self.params = inner.framework, inner.params
        self.losses: list[float] = []
        self.snapshots: dict[int, np.ndarray] = {}

    def set_lr(self, lr: float) -> None:
        self.inner.set_lr(lr)

    def step(self, batch: dict[str, np.ndarray]) -> float:
        loss = self.inner.step(batch)
        self.losses.append(loss)
        if len(self.losses) in SNAPSHOT_STEPS:
            self.snapshots[len(self.losses)] = self.snapshot()
        return loss

    def logits(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return self.inner.logits(inputs)


def perturb(trainer: Any, rel: float, seed: int) -> dict[str, float]:
    """Multiply every trainable weight by (1 + rel * N(0,1)), in float64, rounded to float32."""
    rng = np.random.default_rng(seed)
    changed = total = 0
    max_rel = 0.0

    def nudge(w: np.ndarray) -> np.ndarray:
        nonlocal changed, total, max_rel
        new = (w.astype(np.float64) * (1.0 + rel * rng.standard_normal(w.shape))).astype(np.float32)
        changed += int((new != w).sum())
        total += w.size
        nz = w != 0
        if nz.any():
            max_rel = max(max_rel, float(np.abs((new[nz].astype(np.float64) - w[nz]) / w[nz]).max()))
        return new

    if trainer.framework == "torch":
        import torch

        with torch.no_grad():
            for p in trainer.model.parameters():
                if p.requires_grad:
                    p.copy_(torch.from_numpy(nudge(p.detach().cpu().numpy())))
    else:
        for v in trainer.model.trainable_variables:
            v.assign(nudge(np.asarray(v.numpy())))
    return {"rel": rel, "noise_seed": seed, "elements_changed": changed, "elements": total,
            "max_rel_change": max_rel}


def train_in_process(fws: Frameworks, cell: Any, rel: float = 0.0, noise_seed: int = 0) -> dict[str, Any]:
    """fwbench.accuracy.train.train on build_trainer's trainer (optionally perturbed), recorded."""
    from fwbench.accuracy import data as D
    from fwbench.accuracy.train import EVAL_BATCH, build_trainer, model_config, train
    from fwbench.models.base import LABELS

    random.seed(cell.seed)
    np.random.seed(cell.seed)
    start = time.perf_counter()
    split = D.load(cell.dataset)
    config = model_config(cell, split)
    with fws.backends[cell.framework].device_scope(cell.device):
        fws.scratch_tf(config)
        trainer = build_trainer(cell, config)
        nudge = perturb(trainer, rel, noise_seed) if rel else None
        rec = Recorder(trainer, lambda: fws.weights(trainer, config))
        epoch_weights: list[np.ndarray] = []
        predictions: list[np.ndarray] = []

        def on_epoch(_result: Any, _first: float | None) -> None:
            epoch_weights.append(fws.weights(trainer, config))
            inputs = {k: v for k, v in split.val.items() if k != LABELS}
            chunks = [trainer.logits({k: v[i:i + EVAL_BATCH] for k, v in inputs.items()}).argmax(-1)
                      for i in range(0, split.n_val, EVAL_BATCH)]
            predictions.append(np.concatenate(chunks))

        epochs = train(cell, split, rec, on_epoch)
    return {"framework": cell.framework, "seed": cell.seed, "perturbation": nudge,
            "first_batch_loss": rec.losses[0], "val_accuracy": [e.val_accuracy for e in epochs],
            "train_loss": [e.train_loss for e in epochs], "final_val_accuracy": epochs[-1].val_accuracy,
            "step_losses": rec.losses, "wall_s": round(time.perf_counter() - start, 2),
            # kept out of the JSON (arrays), used by separation()
            "_snapshots": {**rec.snapshots, **{f"epoch{i + 1}": w for i, w in enumerate(epoch_weights)}},
            "_predictions": predictions}


def separation(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """How far two recorded trainings have drifted apart, step by step and epoch by epoch."""
    diffs = [abs(x - y) for x, y in zip(a["step_losses"], b["step_losses"])]
    dist = {str(k): float(np.linalg.norm(a["_snapshots"][k] - b["_snapshots"][k]) / np.linalg.norm(b["_snapshots"][k]))
            for k in b["_snapshots"] if k in a["_snapshots"]}
    return {
        "first_loss_abs_diff": diffs[0], "first_loss_ulps32": ulps32(a["step_losses"][0], b["step_losses"][0]),
        "step_loss_abs_diff": diffs, "first_step_above": first_above(diffs),
        "weight_rel_distance": dist,
        "val_disagreement_per_epoch": [float((pa != pb).mean())
                                       for pa, pb in zip(a["_predictions"], b["_predictions"])],
        "val_accuracy_diff_pp_per_epoch": [pp(x, y) for x, y in zip(a["val_accuracy"], b["val_accuracy"])],
        "final_diff_pp": pp(a["final_val_accuracy"], b["final_val_accuracy"]),
    }


def public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_")}


# ---------------------------------------------------------------------------------------------

def measure_seed(fws: Frameworks, cells: dict[str, Any], args: argparse.Namespace, timeout: float,
                 shipped_runs: list[dict[str, Any]], system_id: str) -> dict[str, Any]:
    seed = cells["torch"].seed
    out: dict[str, Any] = {"seed": seed, "frameworks": {}}
    base: dict[str, dict[str, Any]] = {}
    for fw, cell in cells.items():
        wa, wb = worker_run(cell, timeout), worker_run(cell, timeout)
        ia, ib = train_in_process(fws, cell), train_in_process(fws, cell)
        base[fw] = ia
        mine = [r for r in shipped_runs if r["system_id"] == system_id and r["key"] == cell_key(cell)]
        entry: dict[str, Any] = {
            "worker_runs": [wa, wb], "worker_repeat_identical": same_numbers(wa, wb),
            "in_process_runs": [public(ia), public(ib)],
            "in_process_repeat_identical": ia["step_losses"] == ib["step_losses"] and same_numbers(ia, ib),
            "in_process_equals_worker": same_numbers(ia, wa),
            "shipped_same_system": [{"campaign_id": r["campaign_id"], "git_commit": r["git_commit"],
                                     "identical_to_worker": same_numbers(r, wa)} for r in mine],
            "perturbed": {},
        }
        draws = args.draws if fw == "torch" else args.tf_draws
        for rel in args.rel:
            runs = [train_in_process(fws, cell, rel, noise_seed=1000 * seed + k) for k in range(draws)]
            shifts = [pp(r["final_val_accuracy"], ia["final_val_accuracy"]) for r in runs]
            entry["perturbed"][f"{rel:g}"] = {
                "runs": [{**public(r), "separation_from_unperturbed": separation(r, ia)} for r in runs],
                "final_shift_pp": shifts,
                "mean_abs_shift_pp": round(statistics.fmean(abs(s) for s in shifts), 3) if shifts else None,
                "max_abs_shift_pp": max((abs(s) for s in shifts), default=None),
                "final_val_accuracy_range": [min(r["final_val_accuracy"] for r in runs + [ia]),
                                             max(r["final_val_accuracy"] for r in runs + [ia])],
            }
        if not args.no_isa:
            isa = worker_run(cell, timeout, ISA_ENV[fw])
            entry["isa_avx2"] = {
                **isa,
                "matches_shipped_exactly": sorted({r["system_id"] for r in shipped_runs
                                                   if r["key"] == cell_key(cell) and same_numbers(r, isa)}),
                "first_loss_matches_shipped": sorted({r["system_id"] for r in shipped_runs
                                                      if r["key"] == cell_key(cell)
                                                      and r["first_batch_loss"] == isa["first_batch_loss"]}),
                "final_diff_pp_vs_default_isa": pp(isa["final_val_accuracy"], wa["final_val_accuracy"]),
            }
        out["frameworks"][fw] = entry
    out["torch_vs_tf"] = separation(base["torch"], base["tensorflow"])
    return out


def report_seed(r: dict[str, Any]) -> None:
    seed, t = r["seed"], r["frameworks"]["torch"]
    print(f"\n== seed {seed}")
    for fw, e in r["frameworks"].items():
        w = e["worker_runs"][0]
        ship = ", ".join(f"{s['campaign_id']}: {'identical' if s['identical_to_worker'] else 'DIFFERENT'}"
                         for s in e["shipped_same_system"]) or "none on this system"
        print(f"  {fw:<10} final {w['final_val_accuracy']:.4f}  "
              f"worker repeat identical: {e['worker_repeat_identical']}, "
              f"in-process repeat identical: {e['in_process_repeat_identical']}, in-process == worker: "
              f"{e['in_process_equals_worker']}; shipped ({ship})")
        for rel, p in e["perturbed"].items():
            shifts = " ".join(f"{s:+.1f}" for s in p["final_shift_pp"])
            print(f"  {'':<10} rel {rel} nudge: final shift pp [{shifts}] mean |shift| {p['mean_abs_shift_pp']:.1f}, "
                  f"max {p['max_abs_shift_pp']:.1f}")
        if "isa_avx2" in e:
            i = e["isa_avx2"]
            print(f"  {'':<10} AVX2 kernels: final {i['final_val_accuracy']:.4f} "
                  f"({i['final_diff_pp_vs_default_isa']:+.1f} pp); "
                  f"matches shipped runs of {i['matches_shipped_exactly'] or 'no system'} exactly, first loss of "
                  f"{i['first_loss_matches_shipped'] or 'no system'}")
    s = r["torch_vs_tf"]
    print(f"  torch - tf: final {s['final_diff_pp']:+.1f} pp; first loss differs by {s['first_loss_abs_diff']:.2e} "
          f"({s['first_loss_ulps32']:.0f} ulp)")
    print("  |loss diff| by step   " + "  ".join(f"{k}:{s['step_loss_abs_diff'][k]:.0e}" for k in SHOW_STEPS
                                              if k < len(s["step_loss_abs_diff"])))
    print("  weight rel distance   " + "  ".join(f"{k}:{v:.0e}" for k, v in s["weight_rel_distance"].items()))
    print("  val disagreement/epoch " + " ".join(f"{v:.3f}" for v in s["val_disagreement_per_epoch"]))
    rel = next(iter(t["perturbed"]), None)
    if rel and t["perturbed"][rel]["runs"]:
        p = t["perturbed"][rel]["runs"][0]["separation_from_unperturbed"]
        print(f"  torch vs torch+{rel} (draw 0): first loss {p['first_loss_abs_diff']:.1e}; weight rel distance "
              + "  ".join(f"{k}:{v:.0e}" for k, v in p["weight_rel_distance"].items()))


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    seeds = results["seeds"]
    gaps = {s["seed"]: s["torch_vs_tf"]["final_diff_pp"] for s in seeds}
    shipped_same = [x["identical_to_worker"] for s in seeds for e in s["frameworks"].values()
                    for x in e["shipped_same_system"]]
    summary: dict[str, Any] = {
        "repeats_identical": all(e["worker_repeat_identical"] and e["in_process_repeat_identical"]
                                 for s in seeds for e in s["frameworks"].values()),
        "in_process_equals_worker": all(e["in_process_equals_worker"] for s in seeds for e in s["frameworks"].values()),
        # None: this system has no shipped runs of these cells
        "shipped_same_system_identical": all(shipped_same) if shipped_same else None,
        "torch_minus_tf_final_pp": gaps,
        "mean_abs_torch_tf_gap_pp": round(statistics.fmean(abs(g) for g in gaps.values()), 3) if gaps else None,
        "perturbation_abs_shift_pp": {},
    }
    for fw in ("torch", "tensorflow"):
        for rel in {k for s in seeds for k in s["frameworks"][fw]["perturbed"]}:
            shifts = [abs(x) for s in seeds
                      for x in s["frameworks"][fw]["perturbed"].get(rel, {}).get("final_shift_pp", [])]
            if shifts:
                summary["perturbation_abs_shift_pp"][f"{fw} rel {rel}"] = {
                    "n": len(shifts), "mean": round(statistics.fmean(shifts), 3),
                    "median": round(statistics.median(shifts), 3),
                    "max": max(shifts), "share_zero": round(sum(x == 0 for x in shifts) / len(shifts), 3)}
    sep = [s["torch_vs_tf"] for s in seeds]
    summary["torch_vs_tf_weight_rel_distance_after_step_1"] = [x["weight_rel_distance"].get("1") for x in sep]
    summary["torch_vs_tf_first_step_loss_diff_above"] = {t: [x["first_step_above"][t] for x in sep]
                                                         for t in sep[0]["first_step_above"]} if sep else {}
    nudged = [r["separation_from_unperturbed"] for s in seeds for p in s["frameworks"]["torch"]["perturbed"].values()
              for r in p["runs"]]
    summary["torch_nudge_first_step_loss_diff_above_median"] = {
        t: statistics.median(steps) if (steps := [x["first_step_above"][t] for x in nudged
                                                  if x["first_step_above"][t] is not None]) else None
        for t in (nudged[0]["first_step_above"] if nudged else {})}
    torch_shift = [v["mean"] for k, v in summary["perturbation_abs_shift_pp"].items() if k.startswith("torch")]
    gap = summary["mean_abs_torch_tf_gap_pp"] or 0.0
    ratio = max(torch_shift) / gap if torch_shift and gap else None
    summary["nudge_shift_over_framework_gap"] = None if ratio is None else round(ratio, 3)
    if not summary["repeats_identical"]:
        verdict = "nondeterminism: repeated runs of one cell differ"
    elif ratio is None:
        verdict = "deterministic (repeats bit-identical); no perturbation runs to judge divergence"
    elif ratio >= 0.33:
        verdict = (f"divergence: every repeat is bit-identical, and float-level weight nudges move the final accuracy "
                   f"by {max(torch_shift):.1f} pp on average, {ratio:.0%} of the mean torch-TF gap ({gap:.1f} pp)")
    else:
        verdict = (f"deterministic, but float-level nudges move the final accuracy by only {max(torch_shift):.1f} pp "
                   f"against a mean torch-TF gap of {gap:.1f} pp: look for a systematic difference")
    summary["verdict"] = verdict
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", help="default: every seed of the grid's accuracy section")
    parser.add_argument("--draws", type=int, default=5, help="perturbed torch trainings per seed and size (default 5)")
    parser.add_argument("--tf-draws", type=int, default=3, help="perturbed TF trainings per seed and size (default 3)")
    parser.add_argument("--rel", type=float, nargs="+", default=[1e-6, 1e-7],
                        help="relative perturbation sizes (default 1e-6 1e-7)")
    parser.add_argument("--no-isa", action="store_true", help="skip the AVX2-kernel reruns (design isa)")
    parser.add_argument("--db", type=Path, help="shipped results (default data/results.duckdb); skipped if absent")
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results/"
                                                 "accuracy-divergence-<system_id>-<UTC time>.json)")
    args = parser.parse_args()

    from fwbench.grid import load_grid
    from fwbench.harness.fingerprint import system_fingerprint
    from fwbench.jobs import accuracy_jobs
    from fwbench.paths import DB_PATH
    from fwbench.records import write_json_atomic

    grid = load_grid(GRID)
    jobs = [j for j in accuracy_jobs(grid) if j.cell.model == MODEL]
    seeds = args.seeds if args.seeds is not None else sorted({j.cell.seed for j in jobs})
    template = {j.cell.framework: j for j in jobs if j.cell.seed == 0}
    fingerprint = system_fingerprint()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = args.out or RESULTS_DIR / f"accuracy-divergence-{fingerprint['system_id']}-{stamp}.json"
    db = args.db or DB_PATH
    cell0 = template["torch"].cell
    results: dict[str, Any] = {
        "settings": {"grid": grid.name, "grid_hash": grid.hash, "model": MODEL, "seeds": seeds, "draws": args.draws,
                     "tf_draws": args.tf_draws, "rel": args.rel, "isa": not args.no_isa, "isa_env": ISA_ENV,
                     "cells": {fw: j.cell.to_dict() for fw, j in template.items()},
                     "snapshot_steps": list(SNAPSHOT_STEPS), "loss_thresholds": list(LOSS_THRESHOLDS)},
        "system": fingerprint, "seeds": [],
    }
    print(f"# accuracy divergence: {MODEL}-{cell0.size}, {cell0.epochs} epochs, batch {cell0.batch_size}, "
          f"lr {cell0.lr_schedule.base_lr:g}, {cell0.threads} threads, seeds {seeds}; "
          f"system {fingerprint['system_id']}",
          flush=True)
    started = time.time()
    shipped_runs: list[dict[str, Any]] = []
    if db.exists():
        results["shipped"] = shipped(db)
        shipped_runs = [{**r, "key": (r["framework"], r["mode"], r["model"], r["size"], r["epochs"], r["batch_size"],
                                      r["lr_schedule"], round(r["base_lr"], 12), r["threads"], r["seed"])}
                        for r in results["shipped"]["runs"]]
        s = results["shipped"]
        print(f"\n== shipped data ({db})\n  re-runs on one system identical: {s['reruns_identical']}")
        for p in s["torch_vs_tf"]:
            if p["model"] == MODEL:
                print(f"  {p['system_id']} {p['campaign_id']} seed {p['seed']}: "
                      f"first loss {p['first_batch_loss']['ulps32']:.0f} ulp "
                      f"apart; torch - tf pp per epoch {p['gap_pp_per_epoch']}")
        print(f"  mean |torch - tf| pp per epoch: {s['mean_abs_gap_pp_per_epoch']}")
        print("  |last-epoch change| of val accuracy within a run, pp: "
              + ", ".join(f"{m} mean {v['mean']:.1f} max {v['max']:.1f}" for m, v in s["last_epoch_change_pp"].items()))
    else:
        print(f"(no database at {db}: shipped-data part skipped)")

    fws = Frameworks(cell0.threads)
    for seed in seeds:
        cells = {fw: dataclasses.replace(j.cell, seed=seed) for fw, j in template.items()}
        result = measure_seed(fws, cells, args, template["torch"].timeout, shipped_runs, fingerprint["system_id"])
        results["seeds"].append(result)
        report_seed(result)
        results["summary"] = summarise(results)
        results["wall_s"] = round(time.time() - started, 1)
        write_json_atomic(out, results)
    summary = results["summary"]
    print("\n== summary")
    print(f"  repeats bit-identical: {summary['repeats_identical']}; in-process == worker: "
          f"{summary['in_process_equals_worker']}; shipped runs of this system reproduced: "
          f"{summary['shipped_same_system_identical']}")
    print(f"  torch - tf final pp per seed: {summary['torch_minus_tf_final_pp']} (mean |gap| "
          f"{summary['mean_abs_torch_tf_gap_pp']})")
    for name, s in summary["perturbation_abs_shift_pp"].items():
        print(f"  {name}: |final shift| pp mean {s['mean']}, median {s['median']}, max {s['max']} (n {s['n']}, "
              f"{s['share_zero']:.0%} unchanged)")
    print("  torch vs TF weight distance after step 1: "
          + " ".join(f"{d:.1e}" for d in summary["torch_vs_tf_weight_rel_distance_after_step_1"] if d is not None))
    print(f"  first step where |loss diff| > threshold, torch vs TF per seed: "
          f"{summary['torch_vs_tf_first_step_loss_diff_above']}; torch vs nudged torch (median): "
          f"{summary['torch_nudge_first_step_loss_diff_above_median']}")
    print(f"  verdict: {summary['verdict']}")
    print(f"\nwall time {results['wall_s']:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
