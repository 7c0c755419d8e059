"""The paper's generated tables (tables.json): systems, grid, results, exclusions, claims verdicts.

A table is {"columns": [...], "rows": [[str, ...], ...], "note": str}; the Typst source renders any
such table with one function, so adding a column here needs no Typst change. Every row order is
total (ties broken by key columns), so the same runs always give byte-identical tables.json.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData
from fwbench.figures.forest import speed_ratios
from fwbench.report import fmt
from fwbench.report.isa import isa_table
from fwbench.report.predictions import aa_table, predictions_table
from fwbench.stats.comparisons import MIN_RUNS
from fwbench.cells import implementation_name
from fwbench.stats.metrics import implementation_label, with_cell_defaults
from fwbench.stats.sensitivity import PRIMARY, UNTESTABLE, VARIANTS
from fwbench.report.reproduction import campaigns_table, reproducibility_table


def speed_comparisons(comparisons: pl.DataFrame) -> pl.DataFrame:
    return speed_ratios(comparisons)


def claims_main(claims: pl.DataFrame) -> pl.DataFrame:
    """The claims rows of the main scope (the single host, or pooled), in claim order."""
    if F.require(claims, ["claim_id", "verdict"], "claims"):
        return pl.DataFrame()
    main = F.main_scope(claims)
    return main.sort([c for c in ("claim_id", "system_id") if c in main.columns])


def systems_table(data: FigureData) -> dict[str, Any]:
    sysf = data.systems
    if F.require(sysf, ["system_id", "host_processor_model_name"], "systems"):
        return fmt.table(["system"], [], "no systems table")
    rows = []
    for s in sysf.sort("system_id").iter_rows(named=True):
        packages = json.loads(s["packages"]) if isinstance(s.get("packages"), str) else (s.get("packages") or {})
        software = ", ".join(f"{k} {packages[k]}" for k in sorted(packages) if packages[k])
        accel = s.get("accelerator_model_name") or "none"
        if s.get("accelerator_count"):
            accel = f"{s['accelerator_count']}x {accel} (driver {s.get('accelerator_driver_version') or '?'}, " \
                    f"CUDA {s.get('cuda_version') or '?'})"
        rows.append([s["system_id"], s["host_processor_model_name"], s.get("hardware_class") or "unknown",
                     s.get("host_processor_core_count"),
                     fmt.num(s.get("host_memory_capacity_gb")), accel, s.get("operating_system"),
                     s.get("python_version"), software, s.get("n_runs")])
    return fmt.table(["system_id", "CPU", "hardware class", "cores", "memory (GB)", "accelerator", "OS", "Python", "packages", "runs"],
                  rows)


def grid_table(data: FigureData) -> dict[str, Any]:
    runs = data.runs
    if F.require(runs, ["model", "size", "phase", "framework", "mode", "status"], "runs"):
        return fmt.table(["model"], [], "no runs")
    runs = F.with_fw_mode(runs)
    rows = []
    for model in [m for m in C.MODELS if m in set(runs["model"].to_list())]:
        for size in [s for s in C.SIZES[model] if s in set(runs.filter(pl.col("model") == model)["size"].to_list())]:
            for phase in C.PHASES:
                sub = runs.filter((pl.col("model") == model) & (pl.col("size") == size) & (pl.col("phase") == phase))
                if sub.height == 0:
                    continue
                variants = [v for v in F.FW_MODES if v in set(sub["fw_mode"].to_list())]
                rows.append([model, size, phase, _vals(sub, "batch_size"), _vals(sub, "seq_len"),
                             _vals(sub, "threads"), _vals(sub, "device"), ", ".join(variants),
                             sub["cell_id"].n_unique(), f"{sub.filter(pl.col('status') == 'ok').height}/{sub.height}"])
    return fmt.table(["model", "size", "phase", "batch", "seq. len", "threads", "device", "framework/modes", "cells",
                   "ok/runs"], rows)


def _vals(frame: pl.DataFrame, column: str) -> str:
    return ", ".join(str(v) for v in sorted(frame[column].drop_nulls().unique().to_list()))


def results_table(data: FigureData) -> dict[str, Any]:
    """Per cell of a standard model run natively (variants and runtimes have their own sections and
    tables: a row is labelled by model, size, phase and framework/mode only)."""
    stats = F.main_scope(F.standard(data.cell_stats))
    need = ["model", "size", "phase", "framework", "mode", "throughput_sps_median", "n_runs", "n_ok"]
    if F.require(stats, need, "cell_stats"):
        return fmt.table(["cell"], [], "no cell statistics")
    stats = F.with_fw_mode(stats)
    extra = F.varying(stats, ["device", "threads", "batch_size", "seq_len"], within=["model", "size", "phase"])
    order = {v: i for i, v in enumerate(F.FW_MODES)}
    stats = stats.with_columns(
        _m=pl.col("model").replace_strict({m: i for i, m in enumerate(C.MODELS)}, default=99),
        _p=pl.col("phase").replace_strict({p: i for i, p in enumerate(C.PHASES)}, default=99),
        _v=pl.col("fw_mode").replace_strict(order, default=99))
    rows = []
    # ties (e.g. names outside C.MODELS / C.PHASES / F.FW_MODES all rank 99): by framework/mode, then cell
    tie = [c for c in ("fw_mode", "cell_id", "system_id") if c in stats.columns]
    for r in stats.sort(["_m", "size", "_p", *extra, "_v", *tie]).iter_rows(named=True):
        rows.append([r["model"], r["size"], r["phase"], *[r[c] for c in extra], r["fw_mode"],
                     fmt.ci(r["throughput_sps_median"], r.get("throughput_sps_low"), r.get("throughput_sps_high")),
                     fmt.num(r.get("first_step_s_median")), fmt.num(r.get("peak_rss_above_import_mb_median")),
                     f"{r['n_ok']}/{r['n_runs']}", r.get("n_excluded", 0)])
    return fmt.table(["model", "size", "phase", *extra, "framework/mode", "samples/s median [95% CI]",
                   "first step (s)", "peak RSS above import (MB)", "ok/runs", "excluded"], rows,
                     "standard models in the frameworks' own modes; implementation variants and exported runtimes "
                     "are in the sections 'Framework or layer?' and 'Which runtime?'")


def exclusions_table(data: FigureData) -> dict[str, Any]:
    """Every run left out of step-time statistics, grouped by reason (failures, too few measured steps);
    non-stationary runs are kept (flagged) and are not listed here."""
    steady = data.steady_state
    if F.require(steady, ["run_id", "ok", "reason"], "steady_state") or F.require(data.runs, ["run_id"], "runs"):
        return fmt.table(["reason", "runs"], [], "no steady-state table")
    cells = F.with_fw_mode(data.runs).select(["run_id", "model", "size", "phase", "fw_mode"])
    bad = steady.filter(~pl.col("ok").fill_null(False)).join(cells, on="run_id", how="left")
    if bad.height == 0:
        return fmt.table(["reason", "runs", "cells"], [], "every run finished and reached a steady state")
    grouped = (bad.with_columns(cell=pl.concat_str([pl.col("model"), pl.col("size"), pl.col("phase"), pl.col("fw_mode")],
                                                   separator=" "))
               .group_by("reason").agg(n=pl.len(), cells=pl.col("cell").unique().sort())
               .sort(["n", "reason"], descending=[True, False]))  # ties: by reason
    rows = [[r["reason"], r["n"], _shorten(", ".join(r["cells"]))] for r in grouped.iter_rows(named=True)]
    return fmt.table(["reason", "runs", "cells"], rows)


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claims_table(data: FigureData) -> dict[str, Any]:
    claims = claims_main(data.claims)
    if claims.height == 0:
        return fmt.table(["claim"], [], "no claims table; run `fwbench analyze`")
    rows = []
    for r in claims.iter_rows(named=True):
        cells = f"{r['n_cells']} cells, {r['n_runs']} runs" if r.get("n_cells") else "none"
        if r.get("pairs_dropped"):  # the set of pairs changed because of exclusions: flagged
            cells += f"; {r['pairs_dropped']} left out (< {MIN_RUNS} usable runs)"
        effect = fmt.ci(r.get("effect"), r.get("effect_low"), r.get("effect_high"))
        rows.append([r["claim_id"], r["claim"], r.get("contrast") or "", r.get("ratio_definition") or r.get("metric"),
                     cells, effect, r.get("threshold"), r["verdict"], _robustness(r), r.get("reason") or ""])
    return fmt.table(["id", "claim", "contrast", "ratio", "cells", "effect [95% CI]", "threshold", "verdict",
                      "sensitivity", "reason"], rows)


def _robustness(row: dict[str, Any]) -> str:
    """The claims row's sensitivity reading: fragile under which variants, robust, or no variant applies."""
    if row.get("fragile"):
        return f"fragile ({row.get('fragile_under')})"
    return "robust" if row.get("fragile") is False and row["verdict"] != UNTESTABLE else "–"


def sensitivity_table(data: FigureData) -> dict[str, Any]:
    """Every claim's verdict in the main scope under each analysis variant that can touch it; a changed
    verdict is starred. Claims no variant touches keep their row with the primary verdict alone."""
    table = data.sensitivity
    claims = claims_main(data.claims)
    if F.require(table, ["claim_id", "system_id", "variant", "verdict", "changed"], "sensitivity") or not claims.height:
        return fmt.table(["claim"], [], "no sensitivity table; run `fwbench analyze`")
    scope = claims["system_id"][0]
    table = table.filter(pl.col("system_id") == scope)
    present = set(table["variant"].to_list())
    variants = [v for v in (PRIMARY, *VARIANTS) if v in present]
    by_claim = {cid: {r["variant"]: r for r in group.iter_rows(named=True)}
                for (cid,), group in table.group_by(["claim_id"], maintain_order=True)}
    rows = []
    for claim in claims.iter_rows(named=True):
        judged = by_claim.get(claim["claim_id"], {})
        cells = [_variant_cell(judged[v]) if v in judged else "" for v in variants]
        if not judged:  # no variant applies: the verdict stands alone
            cells[0] = claim["verdict"]
        rows.append([claim["claim_id"], *cells, _robustness(claim)])
    return fmt.table(["claim", *variants, "sensitivity"], rows,
                     f"scope {scope}; * = differs from the primary verdict (before campaign agreement is checked); "
                     "blank = the variant cannot touch the claim")


def _variant_cell(row: dict[str, Any]) -> str:
    return row["verdict"] + (" *" if row["changed"] else "")


def break_even_table(data: FigureData) -> dict[str, Any]:
    """Per workload and compiled mode in the main scope: the up-front cost, the saving per step and the
    break-even step count with its CI ('never' for +inf)."""
    table = data.break_even
    if F.require(table, ["system_id", "model", "phase", "framework", "mode_compiled", "break_even_steps"],
                 "break_even"):
        return fmt.table(["workload"], [], "no break_even table; run `fwbench analyze`")
    table = with_cell_defaults(F.main_scope(table)).sort("model", "size", "phase", "batch_size", "seq_len", "threads",
                                                         "framework", "backend", "mode_compiled", "compile_cache")

    def steps(x: object) -> str:
        if isinstance(x, float) and x == float("inf"):
            return "never"
        return f"{int(x):,}" if fmt.is_num(x) else "–"  # type: ignore[call-overload]

    rows = []
    for r in table.iter_rows(named=True):
        estimate = steps(r["break_even_steps"])
        if fmt.is_num(r["break_even_low"]) or r["break_even_high"] == float("inf"):
            estimate += f" [{steps(r['break_even_low'])}, {steps(r['break_even_high'])}]"
        elif r["break_even_steps"] is not None:
            estimate += " (no CI)"
        rows.append([f"{r['model']}-{r['size']} {r['phase']} b{r['batch_size']} {r['threads']} thr",
                     implementation_label(r["framework"], r["mode_compiled"], r["backend"]), r["compile_cache"], fmt.num(r["extra_first_step_s"]),
                     fmt.num(r["saving_ms_per_step"]), estimate, f"{r['n_eager']}/{r['n_compiled']}"])
    return fmt.table(["workload", "compiled mode", "cache", "extra first step (s)", "saving per step (ms)",
                      "break-even steps [95% CI]", "runs eager/compiled"], rows,
                     f"against the same framework's eager mode; no CI with fewer than {MIN_RUNS} runs on a side "
                     "(torch.compile runs one cold compile per grid and cell, the later repetitions reuse its cache)")


def layer_ablation_main(table: pl.DataFrame) -> pl.DataFrame:
    """The layer_ablation rows of the main scope in a fixed order: claim, family, variant."""
    order = pl.struct(pl.col("model").replace_strict({m: i for i, m in enumerate(C.MODELS)}, default=99),
                      pl.col("variant").replace_strict({v: i for i, v in enumerate(C.ALL_VARIANTS)}, default=99))
    return F.main_scope(table).sort(pl.col("claim_id"), order)


def layer_ablation_table(data: FigureData) -> dict[str, Any]:
    """Per CNN/LSTM framework claim, family and implementation variant (main scope of the ablation grid's
    runs): the effect and verdict, the standard model's on the same workloads, and whether it survives."""
    table = data.layer_ablation
    if F.require(table, ["claim_id", "system_id", "model", "variant", "verdict", "survives"], "layer_ablation"):
        return fmt.table(["claim"], [], "no layer_ablation table: the ablation grid has not been measured")
    table = layer_ablation_main(table)
    rows = []
    for r in table.iter_rows(named=True):
        survives = "–" if r["survives"] is None else ("yes" if r["survives"] else "no")
        baseline = ("" if r["baseline_verdict"] is None else
                    f"{fmt.ci(r['baseline_effect'], r['baseline_effect_low'], r['baseline_effect_high'])} "
                    f"{r['baseline_verdict']}")
        rows.append([r["claim_id"], r["model"], r["variant"], str(r["n_cells"]),
                     fmt.ci(r["effect"], r["effect_low"], r["effect_high"]), r["verdict"], baseline, survives])
    return fmt.table(["claim", "family", "variant", "cells", "effect [95% CI]", "verdict",
                      "standard model, same workloads", "survives"], rows,
                     f"scope {table['system_id'][0] if table.height else '–'}; ablation grid runs only; a variant "
                     "one framework has is compared with the other framework's standard model")


def which_runtime_groups(table: pl.DataFrame) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The which_runtime table's main scope as (workload, candidates by rank), in a fixed order."""
    if F.require(table, ["system_id", "model", "batch_size", "scenario", "rank", "runtime"], "which_runtime"):
        return []
    table = F.main_scope(table).sort("model", "size", "batch_size", "seq_len", "threads", "rank", "cell_id")
    keys = ["model", "size", "batch_size", "seq_len", "threads", "scenario"]
    return [(dict(zip(keys, key)), group.to_dicts())
            for key, group in table.group_by(keys, maintain_order=True)]


def candidate_label(row: dict[str, Any]) -> str:
    """'torch onnxruntime' for an exported runtime, 'torch eager' / 'keras[jax] jit' for a native mode."""
    name = implementation_name(row["framework"], row.get("backend", C.NATIVE_BACKEND))
    return f"{name} {row['runtime'] if row['runtime'] != C.NATIVE_RUNTIME else row['mode']}"


def runtime_value(row: dict[str, Any]) -> str:
    """p99 latency in ms (latency) or samples/s (throughput), with its CI."""
    if row["scenario"] == "latency":
        return f"p99 {fmt.ci(row['median'], row['median_low'], row['median_high'])} ms"
    batch = row["batch_size"] * 1000.0
    return f"{fmt.ci(batch / row['median'], batch / row['median_high'], batch / row['median_low'])} samples/s"


def which_runtime_table(data: FigureData) -> dict[str, Any]:
    """Per inference workload (main scope): the fastest framework/runtime with its value and CI, the
    candidates tied with it, and how much slower the slowest is."""
    rows = []
    for workload, candidates in which_runtime_groups(data.which_runtime):
        best, slowest = candidates[0], candidates[-1]
        tied = [candidate_label(r) for r in candidates[1:] if r["tied_with_fastest"]]
        rows.append([f"{workload['model']}-{workload['size']}", str(workload["batch_size"]), workload["scenario"],
                     candidate_label(best), runtime_value(best), ", ".join(tied) or "none",
                     f"{candidate_label(slowest)} ×{fmt.num(slowest['ratio_to_fastest'])}" if len(candidates) > 1
                     else "–", str(len(candidates))])
    return fmt.table(["model", "batch", "scenario", "fastest", "value [95% CI]", "tied with it", "slowest",
                      "candidates"], rows,
                     "no which_runtime table: no inference runtime measured" if not rows else
                     "tied = the 95% CI of the ratio to the fastest reaches 1; runtime = exported from torch eager / "
                     "TF function and gated on parity")


def framework_contrast_rows(data: FigureData) -> list[dict[str, Any]]:
    """The framework_contrasts table's main-scope rows with a CI, in a fixed order (Keras layer, then JAX)."""
    table = data.framework_contrasts
    if F.require(table, ["contrast", "ratio_low", "subject", "reference"], "framework_contrasts"):
        return []
    frame = F.main_scope(table).filter(pl.col("ratio_low").is_not_nan())
    order = {c: i for i, c in enumerate(("keras_layer", "jax"))}
    return sorted(frame.to_dicts(), key=lambda r: (order.get(r["contrast"], 9), r["subject"], r["reference"],
                                                   C.MODELS.index(r["model"]), r["size"], r["phase"]))


def framework_contrasts_table(data: FigureData) -> dict[str, Any]:
    """Per training workload: the Keras layer's cost on each backend and JAX vs torch/TensorFlow, with CIs."""
    rows = [[r["contrast"].replace("_", " "), f"{r['model']}-{r['size']} {r['phase']}", r["subject"], r["reference"],
             fmt.ci(r["ratio"], r["ratio_low"], r["ratio_high"]), f"{fmt.num(r['median_subject_ms'])} / "
             f"{fmt.num(r['median_reference_ms'])}"] for r in framework_contrast_rows(data)]
    return fmt.table(["contrast", "workload", "subject", "reference", "step-time ratio [95% CI]", "ms (median)"],
                     rows, "no framework_contrasts rows: no JAX or Keras cell beside a torch/TensorFlow one" if not rows
                     else "ratio = subject / reference step time: > 1, the subject is slower")


def compute_tables(data: FigureData) -> dict[str, dict[str, Any]]:
    return {"systems": systems_table(data), "grid": grid_table(data), "results": results_table(data),
            "exclusions": exclusions_table(data), "claims": claims_table(data), "campaigns": campaigns_table(data),
            "reproducibility": reproducibility_table(data), "sensitivity": sensitivity_table(data),
            "break_even": break_even_table(data), "layer_ablation": layer_ablation_table(data),
            "which_runtime": which_runtime_table(data), "framework_contrasts": framework_contrasts_table(data),
            "isa_effects": isa_table(data), "predictions": predictions_table(data),
            "aa_checks": aa_table(data)}
