"""Synthetic datasets pushed through the real pipeline (ingest -> analyze) for figure and paper tests.

Two datasets with different planted effects: the paper built from each must print different numbers.
"""

from __future__ import annotations

from pathlib import Path

from fwbench import constants as C
from fwbench.synthetic import base_cell, fake_system, write_dataset

# planted median step (ms) per framework, per dataset: A has torch faster, B TensorFlow faster
PLANTED: dict[str, dict[str, float]] = {"A": {"torch": 20.0, "tensorflow": 26.0, "jax": 18.0, "keras": 24.0},
                                        "B": {"torch": 31.0, "tensorflow": 22.0, "jax": 25.0, "keras": 27.0}}
#: planted speed-up of TF's fused_bn variant over torch's standard model, in the ablation grid's runs
FUSED_SPEEDUP = 1.4


def build_db(root: Path, name: str, *, two_hosts: bool = True, resamples: int = 100) -> Path:
    """Write synthetic raw runs, ingest them and analyze them; returns the database path."""
    from fwbench.synthetic.accuracy import write_accuracy_dataset
    from fwbench.dataset import ingest
    from fwbench.stats.analyze import analyze, load_inputs, write_analysis

    step = PLANTED[name]
    cells = {}
    for fw in C.CLAIMS_FRAMEWORKS:
        for mode in C.MODES[fw]:
            for phase, scale in (("train", 1.0), ("infer", 0.4)):
                for threads in (1, 2):
                    cell = base_cell(framework=fw, mode=mode, phase=phase, threads=threads)
                    cells[cell] = step[fw] * scale * (1.8 if threads == 1 else 1.0)
    raw, db = root / "raw", root / "results.duckdb"
    seed = 1 if name == "A" else 2
    write_dataset(raw, cells, reps=4, seed=seed, transient_steps=6, first_step_s=0.8)  # 4: min evidence
    if two_hosts:
        few = dict(list(cells.items())[:4])
        write_dataset(raw, few, reps=4, seed=seed + 10, system=fake_system("second-host"))
    # the ablation grid (fwbench.stats.layer_ablation): TF's fused BatchNorm planted 40% faster than torch in
    # both datasets, torch's channels_last as fast as its standard model
    ablation = {base_cell(framework="torch", mode="eager", variant=v): step["torch"]
                for v in (C.STANDARD_VARIANT, "channels_last")}
    ablation |= {base_cell(framework="tensorflow", mode="function"): step["tensorflow"],
                 base_cell(framework="tensorflow", mode="function", variant="fused_bn"): step["torch"] / FUSED_SPEEDUP}
    write_dataset(raw, ablation, reps=4, seed=seed + 20, grid_name=C.ABLATION_GRID, transient_steps=6,
                  first_step_s=0.8)
    # inference runtimes at batch 1 (fwbench.stats.which_runtime, the latency figure): ONNX Runtime planted
    # faster than torch eager, LiteRT as fast as TF function
    runtimes = {base_cell(phase="infer", batch_size=1): step["torch"] * 0.1,
                base_cell(phase="infer", batch_size=1, runtime="onnxruntime"): step["torch"] * 0.05,
                base_cell(framework="tensorflow", mode="function", phase="infer", batch_size=1):
                    step["tensorflow"] * 0.1,
                base_cell(framework="tensorflow", mode="function", phase="infer", batch_size=1, runtime="litert"):
                    step["tensorflow"] * 0.1}
    runtimes |= {base_cell(phase="infer", batch_size=128, runtime=r): step["torch"] * 2 * f
                 for r, f in (("native", 1.0), ("onnxruntime", 0.5))}  # the throughput scenario
    write_dataset(raw, runtimes, reps=4, seed=seed + 30, grid_name="runtimes", first_step_s=0.8)
    # the frameworks grid (fwbench.stats.framework_contrasts): JAX and Keras on every backend beside torch and TF
    frameworks = {base_cell(framework=fw, mode=mode, backend=backend): step[fw] * (1.0 + 0.1 * len(backend))
                  for fw in C.FRAMEWORKS for backend in C.BACKENDS[fw] for mode in C.MODES[fw]}
    write_dataset(raw, frameworks, reps=4, seed=seed + 40, grid_name=C.FRAMEWORKS_GRID, first_step_s=0.8)
    # accuracy track (C08): equal accuracies in A, a 5-point gap in B
    write_accuracy_dataset(raw, {"torch": 0.9, "tensorflow": 0.9 if name == "A" else 0.85}, seeds=4)
    ingest(raw, db)
    frames = load_inputs(db)
    result = analyze(frames["runs"], frames["steps"], accuracy_runs=frames["accuracy_runs"],
                     accuracy_epochs=frames["accuracy_epochs"], n_resamples=resamples)
    write_analysis(result, db, root / "analysis")
    return db
