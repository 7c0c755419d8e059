"""Every number the paper's text prints, computed from the database tables (numbers.json).

Values are pre-formatted strings (fwbench.report.fmt) plus a few raw values, so Typst only places
them; sentences whose wording depends on the data (who is faster, how many claims hold) are built
here too, never typed in the Typst source. Every choice among rows (fastest, extremes) and every
list order is total, so the same runs always give byte-identical numbers.json.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Any

import polars as pl

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData
from fwbench.report import fmt
from fwbench.report.reproduction import reproduction_numbers, sizing_numbers
from fwbench.report.isa import isa_numbers
from fwbench.report.predictions import prediction_numbers
from fwbench.report.tables import (candidate_label, claims_main, framework_contrast_rows, layer_ablation_main,
                                   runtime_value, speed_comparisons, which_runtime_groups)
from fwbench.stats.accuracy import rerun_agreement
from fwbench.stats.claims import VERDICTS
from fwbench.stats.reproducibility import UNTESTABLE

FAILED = ("failed", "oom", "timeout")
#: Tie-breakers (those present) when one row is picked by a value: a comparison pair, a cell.
PAIR_KEY = ("model", "size", "phase", "device", "threads", "batch_size", "seq_len", "dtype", "mode_a", "mode_b",
            "comparison_id")
CELL_KEY = ("size", "fw_mode", "device", "threads", "batch_size", "seq_len", "dtype", "cell_id")


def _top(frame: pl.DataFrame, column: str, key: tuple[str, ...], descending: bool = True) -> dict[str, Any]:
    """The row with the largest (smallest) `column`; ties go to the first row in `key` order."""
    tie = [c for c in key if c in frame.columns]
    return frame.sort([column, *tie], descending=[descending] + [False] * len(tie), nulls_last=True).row(0, named=True)


def _values(frame: pl.DataFrame, column: str) -> list[Any]:
    if column not in frame.columns:
        return []
    return sorted(v for v in frame[column].unique().to_list() if v is not None)


def _join(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values) if values else "–"


def dataset_numbers(data: FigureData) -> dict[str, Any]:
    runs = data.runs
    if runs.height == 0:
        return {"n_runs": "0", "n_ok": "0", "n_failed": "0", "n_skipped": "0", "n_cells": "0", "n_systems": "0",
                "n_excluded": "0", "runs_per_cell": "–", "grids": "–", "models": "–", "phases": "–",
                "threads": "–", "batch_sizes": "–", "warmup_steps": "–", "measured_steps": "–",
                "first_run": "–", "last_run": "–", "variants": "–", "torch_versions": "–",
                "tensorflow_versions": "–"}
    status = runs["status"].to_list()
    per_cell = runs.group_by(["system_id", "cell_id"]).len()["len"]
    steady = data.steady_state
    excluded = (steady.filter((pl.col("status") == "ok") & ~pl.col("ok").fill_null(False)).height
                if {"ok", "status"} <= set(steady.columns) else 0)
    variants = F.with_fw_mode(runs)["fw_mode"].unique().to_list()
    started = runs["started_at"].drop_nulls() if "started_at" in runs.columns else pl.Series([])
    return {
        "n_runs": f"{runs.height:,}", "n_ok": f"{status.count('ok'):,}",
        "n_failed": f"{sum(status.count(s) for s in FAILED):,}", "n_skipped": f"{status.count('skipped'):,}",
        "n_cells": f"{runs['cell_id'].n_unique():,}", "n_systems": f"{runs['system_id'].n_unique():,}",
        "n_excluded": f"{excluded:,}",
        "runs_per_cell": (f"{per_cell.min()}" if per_cell.min() == per_cell.max()
                          else f"{per_cell.min()}–{per_cell.max()}"),
        "grids": _join(_values(runs, "grid_name")), "models": _join([m for m in C.MODELS if m in _values(runs, "model")]),
        "phases": _join([p for p in C.PHASES if p in _values(runs, "phase")]),
        "threads": _join(_values(runs, "threads")), "batch_sizes": _join(_values(runs, "batch_size")),
        "warmup_steps": _join(_values(runs, "warmup_steps")), "measured_steps": _join(_values(runs, "measured_steps")),
        "first_run": str(started.min())[:16] if len(started) else "–",
        "last_run": str(started.max())[:16] if len(started) else "–",
        "variants": _join([v for v in F.FW_MODES if v in variants]),
        "torch_versions": _join(_values(runs, "torch_version")),
        "tensorflow_versions": _join(_values(runs, "tensorflow_version")),
    }


def protocol_numbers(data: FigureData) -> dict[str, Any]:
    """The statistical protocol's parameters, read from fwbench.stats (and the margin from the data)."""
    from fwbench.stats import bootstrap, comparisons, outliers, steady_state

    margin = _values(data.comparisons, "equivalence_margin") or [comparisons.EQUIVALENCE_MARGIN]
    return {
        "confidence": fmt.pct(bootstrap.CONFIDENCE), "n_resamples": f"{bootstrap.N_RESAMPLES:,}",
        "bca_min_n": str(bootstrap.BCA_MIN_N), "seed": str(bootstrap.SEED),
        "alpha": f"{comparisons.ALPHA:g}", "min_runs": str(comparisons.MIN_RUNS),
        "equivalence_margin": _join([fmt.pct(m) for m in margin]),
        "penalty_beta": f"{steady_state.PENALTY_BETA:g}", "min_segment": str(steady_state.MIN_SEGMENT),
        "level_tol": fmt.pct(steady_state.LEVEL_TOL), "min_steady": str(steady_state.MIN_STEADY),
        "drift_tol": fmt.pct(steady_state.DRIFT_TOL),
        "spike_k": f"{steady_state.SPIKE_K:g}", "spike_window": str(2 * steady_state.SPIKE_HALF_WIDTH + 1),
        "level_z": f"{steady_state.LEVEL_Z:g}", "fence_k": f"{outliers.FENCE_K:g}",
    }


def speed_numbers(data: FigureData) -> dict[str, Any]:
    """Counts and range of the torch/tensorflow speed ratios, and a sentence summarising them."""
    comps = speed_comparisons(data.comparisons)
    if comps.height == 0:
        return {"n_speed": "0", "speed_min": "–", "speed_max": "–", "n_torch_faster": "0", "n_tf_faster": "0",
                "n_equivalent": "0", "n_inconclusive": "0", "eager_geomean": "–",
                "speed_sentence": "No torch/TensorFlow step-time comparison with a confidence interval is in "
                                  "the dataset."}
    counts = {v: comps.filter(pl.col("verdict") == v).height for v in
              ("PyTorch faster", "TensorFlow faster", "equivalent (TOST)", "inconclusive")}
    lo, hi = comps["speed"].min(), comps["speed"].max()
    best, worst = _top(comps, "speed", PAIR_KEY), _top(comps, "speed", PAIR_KEY, descending=False)
    sentence = (f"Over {comps.height} torch/TensorFlow mode pairs on matching cells, the speed ratio "
                f"PyTorch/TensorFlow ranged from {fmt.num(lo)} ({_pair(worst)}) to {fmt.num(hi)} ({_pair(best)}); "
                f"PyTorch was significantly faster in {counts['PyTorch faster']}, TensorFlow in "
                f"{counts['TensorFlow faster']}, {counts['equivalent (TOST)']} were equivalent within the margin "
                f"and {counts['inconclusive']} inconclusive (per-pair tests, descriptive: no claim verdict rests "
                f"on them).")
    return {"n_speed": str(comps.height), "speed_min": fmt.num(lo), "speed_max": fmt.num(hi),
            "n_torch_faster": str(counts["PyTorch faster"]), "n_tf_faster": str(counts["TensorFlow faster"]),
            "n_equivalent": str(counts["equivalent (TOST)"]), "n_inconclusive": str(counts["inconclusive"]),
            "speed_sentence": sentence}


def _pair(row: dict[str, Any]) -> str:
    return f"{row['model']} {row['size']} {row['phase']}, torch {row['mode_a']} vs tf {row['mode_b']}"


def fastest_numbers(data: FigureData) -> dict[str, Any]:
    """Per host, model and phase: the fastest framework/mode by median throughput. Hosts differ 2-5x in speed,
    so no throughput is pooled across them: with several hosts the sentence counts the hosts each
    framework/mode is fastest on; with one, it gives that host's throughputs."""
    stats = F.per_host(F.standard(data.cell_stats))
    if stats.height == 0 or "throughput_sps_median" not in stats.columns:
        return {"fastest": [], "fastest_sentence": "No cell has a steady-state throughput."}
    stats = F.with_fw_mode(stats.filter(pl.col("throughput_sps_median").is_not_null()))
    out = []
    for (system, model, phase), group in stats.sort("cell_id").group_by(["system_id", "model", "phase"],
                                                                          maintain_order=True):
        top = _top(group, "throughput_sps_median", CELL_KEY)
        out.append({"system_id": system, "model": model, "phase": phase, "size": top["size"],
                    "fw_mode": top["fw_mode"], "threads": top.get("threads"),
                    "throughput": fmt.ci(top["throughput_sps_median"], top["throughput_sps_low"],
                                         top["throughput_sps_high"])})
    order = {(m, p): i for i, (m, p) in enumerate((m, p) for m in C.MODELS for p in C.PHASES)}
    out.sort(key=lambda r: (order.get((r["model"], r["phase"]), 99), str(r["model"]), str(r["phase"]),
                            str(r["system_id"])))
    hosts = sorted({r["system_id"] for r in out})
    parts = []
    for (model, phase), items in groupby(out, key=lambda r: (r["model"], r["phase"])):
        items = list(items)
        if len(hosts) == 1:
            top = items[0]
            parts.append(f"{model} {phase}: {top['fw_mode']} ({top['throughput']} samples/s, {top['size']})")
            continue
        wins = Counter(r["fw_mode"] for r in items)
        parts.append(f"{model} {phase}: " + ", ".join(f"{fw} on {n}" for fw, n in
                                                       sorted(wins.items(), key=lambda kv: (-kv[1], kv[0])))
                     + f" of {len(items)} hosts")
    lead = ("Highest median throughput per model and phase: " if len(hosts) == 1 else
            f"Fastest framework/mode by median throughput per model and phase, host by host ({len(hosts)} hosts "
            "whose speeds differ, so no throughput is pooled): ")
    return {"fastest": out, "fastest_sentence": lead + "; ".join(parts) + "." if parts else ""}


def cost_numbers(data: FigureData) -> dict[str, Any]:
    """Ranges of cell medians of first-step cost and memory per framework/mode."""
    stats = F.main_scope(F.standard(data.cell_stats))
    rows = []
    columns = {"first_step": "first_step_s_median", "memory": "peak_rss_above_import_mb_median",
               "memory_total": "peak_rss_mb_median"}
    if stats.height and set(columns.values()) <= set(stats.columns):
        stats = F.with_fw_mode(stats)
        for variant in [v for v in F.FW_MODES if v in set(stats["fw_mode"].to_list())]:
            sub = stats.filter(pl.col("fw_mode") == variant)
            row = {"fw_mode": variant}
            for key, column in columns.items():
                values = sub[column].drop_nulls()
                row[key] = f"{fmt.num(values.min())}–{fmt.num(values.max())}" if len(values) else "–"
            rows.append(row)
    return {"costs": rows}


def claim_numbers(data: FigureData) -> dict[str, Any]:
    claims = claims_main(data.claims)
    if claims.height == 0:
        return {"n_claims": "0", "claims_sentence": "No claim was evaluated (the claims table is absent)."}
    counts = {v: claims.filter(pl.col("verdict") == v).height for v in VERDICTS}
    return {"n_claims": str(claims.height), **{f"n_{k.replace(',', '').replace(' ', '_')}": str(n) for k, n in counts.items()},
            "claims_sentence": (f"Of {claims.height} claims from the source articles, {counts['supported']} "
                                f"{'is' if counts['supported'] == 1 else 'are'} supported by these data, "
                                f"{counts['contradicted']} contradicted, {counts['direction holds, size not']} hold "
                                f"in direction but not in size, {counts['depends on the cell']} depend on the cell, "
                                f"{counts['inconclusive']} are inconclusive"
                                + (f", {counts['not reproducible']} {'is' if counts['not reproducible'] == 1 else 'are'} "
                                   "not reproducible (the campaigns disagree)" if counts["not reproducible"] else "")
                                + f" and {counts['not testable here']} cannot be tested here.")}


def fragile_numbers(data: FigureData) -> dict[str, Any]:
    """How many claim/scope verdicts change under some sensitivity variant."""
    table = data.sensitivity
    if F.require(table, ["claim_id", "system_id", "changed", "verdict"], "sensitivity"):
        return {"fragile_sentence": "No sensitivity table was computed."}
    judged = table.group_by("claim_id", "system_id").agg(
        testable=(pl.col("verdict") != "not testable here").any(), changed=pl.col("changed").any())
    judged = judged.filter(pl.col("testable"))
    n_fragile = judged.filter(pl.col("changed")).height
    return {"n_fragile": str(n_fragile), "fragile_sentence": (
        f"Of {judged.height} testable claim verdicts (per host and pooled), {n_fragile} "
        f"{'is' if n_fragile == 1 else 'are'} fragile.")}


def accuracy_numbers(data: FigureData) -> dict[str, Any]:
    """The accuracy track (C08): runs, median final accuracy per framework and the C08 verdict row."""
    runs = data.accuracy_runs
    if F.require(runs, ["status", "framework", "seed", "final_val_accuracy"], "accuracy_runs"):
        return {"n_runs": "0", "accuracy_sentence": "No accuracy run is in the dataset, so claim C08 "
                                                    "(equal accuracy at equal hyperparameters) is not tested here."}
    done = runs.filter((pl.col("status") == "ok") & pl.col("final_val_accuracy").is_not_null())
    medians = {fw: done.filter(pl.col("framework") == fw)["final_val_accuracy"].median() for fw in C.CLAIMS_FRAMEWORKS}
    finals = ", ".join(f"{fmt.pct(medians[fw], 1)} ({fw})" for fw in C.CLAIMS_FRAMEWORKS if medians[fw] is not None)
    claims = claims_main(data.claims)
    c08 = claims.filter(pl.col("claim_id") == "C08") if claims.height else claims
    row = c08.row(0, named=True) if c08.height else {}
    verdict = row.get("verdict") or "not evaluated"
    threshold = row.get("threshold") or "–"
    if fmt.is_num(row.get("effect")) and fmt.is_num(row.get("effect_low")):
        verdict_text = (f"With identical initial weights and data order per seed, C08 is judged per model; the "
                        f"model furthest from equality differs by {row['effect']:+.2f} percentage points PyTorch − "
                        f"TensorFlow [{row['effect_low']:+.2f}, {row['effect_high']:+.2f}] ({row.get('ci_method')}), "
                        f"so claim C08 is {verdict} (threshold: {threshold}).")
    else:
        verdict_text = f"Claim C08 is {verdict}" + (f": {row['reason']}." if row.get("reason") else ".")
    identical, groups = rerun_agreement(runs) if "campaign_id" in runs.columns else (0, 0)
    rerun_text = ""
    if groups:
        rerun_text = (f" Re-run in another campaign on the same host, {identical} of {groups} framework/seed runs "
                      "reached a bit-identical final accuracy"
                      + ("; each framework is deterministic here, so a gap between the frameworks at one seed is not "
                         "run-to-run noise but two trajectories that float-level differences (kernel summation "
                         "order) set apart (benchmarks/accuracy_divergence.py measures how far a float-level "
                         "nudge within one framework moves the end point)." if identical == groups else "."))
    sentence = (f"The accuracy track holds {runs.height} training runs ({done.height} finished, "
                f"{done['seed'].n_unique()} seeds); median final validation accuracy: {finals or '–'}. "
                + verdict_text + rerun_text)
    return {"n_runs": str(runs.height), "n_ok": str(done.height), "verdict": verdict,
            "effect_pp": fmt.ci(row.get("effect"), row.get("effect_low"), row.get("effect_high")),
            "accuracy_sentence": sentence}


FAMILY_NAMES: dict[str, str] = {"cnn": "the ResNet (cnn)", "cnn_plain": "the plain CNN (cnn_plain)",
                                 "lstm": "the LSTM"}


def _judged(effect: object, low: object, high: object, verdict: object) -> str:
    return f"{verdict} ({fmt.ci(effect, low, high)})"


SURVIVES = "The framework verdict survives every variant and both CNN families."


def layer_sentence(claim_id: str, rows: list[dict[str, Any]]) -> str:
    """One sentence per claim: the standard verdict per family, the variants that change it, and whether the
    framework verdict survives the change of implementation (variants), of architecture (the two CNN
    families) and of workload (a standard verdict that depends on the cell: shapes disagree)."""
    standard = [r for r in rows if r["variant"] == C.STANDARD_VARIANT]
    parts = [f"on {FAMILY_NAMES.get(r['model'], r['model'])} "
             f"{_judged(r['effect'], r['effect_low'], r['effect_high'], r['verdict'])}" for r in standard]
    changed = [r for r in rows if r["survives"] is False]
    held = [r for r in rows if r["survives"] is True]
    text = f"{claim_id}: " + "; ".join(parts)
    if changed:
        text += "; it changes under " + ", ".join(
            f"{r['variant']} on {r['model']} ({_judged(r['effect'], r['effect_low'], r['effect_high'], r['verdict'])} "
            f"vs {r['baseline_verdict']} on the same workloads)" for r in changed)
    if held:
        text += "; it holds under " + ", ".join(f"{r['variant']} on {r['model']}" for r in held)
    cnn_verdicts = {r["verdict"] for r in standard if r["model"] in C.IMAGE_MODELS and r["verdict"] != UNTESTABLE}
    reasons = (["depends on the implementation"] if changed else []) \
        + (["differs between the two CNN families"] if len(cnn_verdicts) > 1 else []) \
        + (["depends on the workload"] if any(r["verdict"] == "depends on the cell" for r in standard) else [])
    if reasons:
        listed = reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]
        return text + ". The framework verdict does not survive: it " + listed + "."
    if not held:
        return text + ". No variant or second CNN family was measured at its cells: the verdict rests on the " \
                      "standard models alone."
    return text + ". " + SURVIVES


def layer_numbers(data: FigureData) -> dict[str, Any]:
    """The "framework or layer?" sentences, one per claim in the layer_ablation table (main scope)."""
    table = data.layer_ablation
    if F.require(table, ["claim_id", "model", "variant", "verdict", "survives"], "layer_ablation"):
        return {"sentences": [], "n_claims": "0", "n_survive": "0"}
    table = layer_ablation_main(table)
    sentences = [layer_sentence(cid, group.to_dicts())
                 for (cid,), group in table.group_by(["claim_id"], maintain_order=True)]
    survive = sum(s.endswith(SURVIVES) for s in sentences)
    return {"sentences": sentences, "n_claims": str(len(sentences)), "n_survive": str(survive)}


def runtime_numbers(data: FigureData) -> dict[str, Any]:
    """One sentence per inference workload of the which_runtime table: the fastest way to serve it and the
    ones tied with it."""
    sentences = []
    for workload, candidates in which_runtime_groups(data.which_runtime):
        best = candidates[0]
        tied = [candidate_label(r) for r in candidates[1:] if r["tied_with_fastest"]]
        text = (f"{workload['model']}-{workload['size']} at batch {workload['batch_size']} ({workload['scenario']}): "
                f"fastest {candidate_label(best)}, {runtime_value(best)}")
        text += f"; tied with it: {', '.join(tied)}" if tied else "; no other candidate is tied with it"
        if len(candidates) > 1:
            slowest = candidates[-1]
            text += (f"; the slowest, {candidate_label(slowest)}, is ×{fmt.num(slowest['ratio_to_fastest'])} "
                     f"[{fmt.num(slowest['ratio_low'])}, {fmt.num(slowest['ratio_high'])}]")
        sentences.append(text + ".")
    return {"sentences": sentences, "n_workloads": str(len(sentences))}


def framework_numbers(data: FigureData) -> dict[str, Any]:
    """One sentence per framework contrast and subject: its step-time ratios per workload, with CIs."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for r in framework_contrast_rows(data):
        groups.setdefault((r["contrast"], r["subject"], r["reference"]), []).append(
            f"{r['model']}-{r['size']} {r['phase']} {fmt.ci(r['ratio'], r['ratio_low'], r['ratio_high'])}")
    sentences = [f"{subject} / {reference} step time ({'the Keras layer' if contrast == 'keras_layer' else 'JAX'}): "
                 f"{'; '.join(parts)}." for (contrast, subject, reference), parts in groups.items()]
    return {"sentences": sentences, "n_pairs": str(len(sentences))}


def compute_numbers(data: FigureData) -> dict[str, Any]:
    """All numbers of the paper in one JSON-ready dict."""
    return {"dataset": dataset_numbers(data), "protocol": protocol_numbers(data), "speed": speed_numbers(data),
            **fastest_numbers(data), **cost_numbers(data), "claims": {**claim_numbers(data), **fragile_numbers(data)},
            "accuracy": accuracy_numbers(data), "reproduction": reproduction_numbers(data),
            "sizing": sizing_numbers(data), "layer": layer_numbers(data),
            "runtimes": runtime_numbers(data), "frameworks": framework_numbers(data), "isa": isa_numbers(data),
            "predictions": prediction_numbers(data),
            "scope": _scope_note(data)}


def _scope_note(data: FigureData) -> str:
    hosts = [s for s in _values(data.cell_stats, "system_id") if s != F.POOLED]
    if len(hosts) <= 1:
        return f"all statistics are for the single host {hosts[0]}" if hosts else "no host"
    return f"statistics pool {len(hosts)} hosts (host is a factor; per-host results in the HTML report)"
