"""What every table `fwbench analyze` writes to data/analysis/ means, column by column, written once.

The analysis tables (Parquet files and the DuckDB tables of the same names) are built by
fwbench.stats; their columns are not defined by a record schema, so their descriptions live here.
The Frictionless datapackage writer, the Croissant writer and the data dictionary all read this
module, so every field of every analysis table carries the same description everywhere. Standard
library and fwbench.constants only: importable from anywhere in fwbench without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from fwbench.constants import LATENCY_PERCENTILES


@dataclass(frozen=True)
class AnalysisColumn:
    """Description of one analysis-table column and its unit ("" when none, or when it varies by row)."""

    description: str
    unit: str = ""


_C = AnalysisColumn

TABLE_DESCRIPTIONS: dict[str, str] = {
    "sensitivity": (
        "One row per claim, scope and analysis variant that can touch the claim (primary, all-pairs, best-of, no "
        "exclusions, exclude non-stationary, steady start -1/+1 step, trimmed mean, total peak RSS, unpaired, "
        "target 90%): the claim re-judged under that choice; "
        "written by `fwbench analyze` (fwbench.stats.sensitivity)."
    ),
    "steady_state": (
        "One row per run, whatever its status: where the steady state of its measured steps begins, the run's "
        "statistic (the all-steps median for a non-stationary run, flagged) and why a run is excluded or flagged; "
        "written by `fwbench analyze` (fwbench.stats.metrics.steady_state_table)."
    ),
    "cell_stats": (
        "One row per cell and system_id, plus one per cell pooled over systems: run counts and the median of each "
        "per-run metric with a 95% bootstrap CI; written by `fwbench analyze` (fwbench.stats.cell_stats)."
    ),
    "comparisons": (
        "One row per scope (system_id or 'pooled'), metric and pair of cells that differ only in framework and/or "
        "mode: ratio of medians A/B, its CI and tests; written by `fwbench analyze` (fwbench.stats.comparisons)."
    ),
    "claims": (
        "One row per claim of analysis/claims.yaml and scope (each system_id, then 'pooled'): the effect, its 95% CI "
        "and the verdict; written by `fwbench analyze` (fwbench.stats.claims; accuracy-track effects from "
        "fwbench.stats.accuracy)."
    ),
    "break_even": (
        "One row per scope, workload, framework and compiled mode: after how many steps the compiled mode has paid "
        "for its first step against the same framework's eager mode, with a bootstrap 95% CI; written by `fwbench "
        "analyze` (fwbench.stats.break_even)."
    ),
    "layer_ablation": (
        "One row per scope, framework-level CNN/LSTM claim, model family and implementation variant, from the "
        "ablation grid's runs only: the claim re-judged on that family and variant, beside the standard model on "
        "the same workloads (baseline_*), and whether the verdict survives; written by `fwbench analyze` "
        "(fwbench.stats.layer_ablation)."
    ),
    "framework_contrasts": (
        "One row per scope, workload and pair of implementations beyond torch vs TensorFlow, from the frameworks "
        "grid's runs only (one campaign: same-day references): the Keras 3 layer's cost on each backend (keras on a "
        "backend vs that backend's framework in the matching mode) and JAX vs torch and TensorFlow, each a step-time "
        "comparison oriented subject / reference; descriptive, written by `fwbench analyze` "
        "(fwbench.stats.framework_contrasts)."
    ),
    "claim_predictions": (
        "One row per claim and hardware class, and one per claim for all classes (hardware_class = 'all'): the "
        "campaigns' claim effects pooled by a random-effects model (statsmodels combine_effects, Paule-Mandel tau2, "
        "t-based CI), the 95% prediction interval for a new campaign where k >= 3 (t with k-2 df, sqrt(tau2 + SE2)), "
        "the verdict from that interval (from the pooled CI below k = 3), and on the 'all' rows the predictive "
        "verdict (depends on the hardware / not reproducible / holds on every class measured / the pooled verdict) "
        "with the subgroup test of the classes; written by `fwbench analyze` (fwbench.stats.pooling)."
    ),
    "loo_coverage": (
        "One row per claim, hardware class with 4+ campaigns and left-out campaign: whether the prediction interval "
        "of the other campaigns contains the left-out campaign's effect (calibration of the prediction interval "
        "on real data); written by `fwbench analyze` (fwbench.stats.pooling)."
    ),
    "isa_effects": (
        "One row per campaign, training workload that some campaign measured under an instruction-set variant, and "
        "variant the campaign has (standard = native, isa_avx2, onednn_on): the torch eager / TF function step-time "
        "ratio of that campaign's runs alone, with its 95% CI and what each framework reported using; \"is it the "
        "instruction set?\", written by `fwbench analyze` (fwbench.stats.isa_effects)."
    ),
    "which_runtime": (
        "One row per scope, inference workload and candidate (framework, mode, runtime) with 4+ usable runs: "
        "at batch 1 the p99 request latency, at larger batches the step time (throughput), its median over runs "
        "with a bootstrap CI, the rank, the ratio to the fastest candidate with a 95% CI, and whether it is tied "
        "with the fastest (CI reaching 1); written by `fwbench analyze` (fwbench.stats.which_runtime)."
    ),
    "outliers": (
        "One row per run outside the Tukey fences (1.5 IQR) of its cell's per-run values of one metric on its system; "
        "reported, never removed; written by `fwbench analyze` (fwbench.stats.outliers)."
    ),
    "variance": (
        "One row per cell with 2+ usable runs (all systems together): the variance of log step time split into "
        "campaign, process and step parts; written by `fwbench analyze` (fwbench.stats.reproducibility)."
    ),
    "ratio_variance": (
        "One row per step-time comparison measured with a CI in 2+ campaigns and per hardware class with 2+ of them "
        "(and hardware_class = 'all'): the between-campaign variance of its log ratio (Paule-Mandel tau2) beside the "
        "within-campaign one (mean squared standard error), and the campaigns a class needs for a +-5% prediction "
        "interval; written by `fwbench analyze` (fwbench.stats.ratio_variance)."
    ),
    "aa_checks": (
        "A/A checks: each campaign's runs of every cell split into even and odd repetitions and compared like two "
        "implementations (median step time, hierarchical bootstrap 95% CI); one row per campaign, per hardware class "
        "(campaign_id = 'all') and over all (both 'all'), each per runs in the smaller half: the share of cells whose CI "
        "excludes 1, the false-positive rate; written by `fwbench analyze` (fwbench.stats.aa_checks)."
    ),
    "machine_flags": (
        "One row per run that recorded a canary or CPU steal, beside its campaign's medians, flagged when it departs "
        "from them (never dropped); written by `fwbench analyze` (fwbench.stats.machine_flags)."
    ),
    "protocol_sizing": (
        "One row per candidate protocol (warm-up steps, measured steps, repetitions) with its predicted steady share, "
        "CI width and grid minutes; written by `fwbench analyze` (fwbench.stats.protocol_sizing)."
    ),
    "campaign_claims": (
        "One row per claim and campaign, the campaign judged on its own (the claims rules with the campaign in place "
        "of the host); written by `fwbench analyze` with two or more campaigns (fwbench.stats.reproducibility)."
    ),
    "campaign_comparisons": (
        "The comparisons of each campaign judged on its own: one row per campaign, metric and cell pair; written by "
        "`fwbench analyze` with two or more campaigns (fwbench.stats.reproducibility)."
    ),
    "reproducibility": (
        "One row per claim or cell comparison and pair of campaigns: both effects side by side and their ratio "
        "(later/earlier) with a 95% CI, both judged on the cells the two campaigns measured; written by `fwbench "
        "analyze` (fwbench.stats.reproducibility)."
    ),
    "accuracy_final": (
        "One row per accuracy configuration, framework and scope (system_id or 'pooled'): median final validation "
        "accuracy over seeds with a 95% bootstrap CI; written by `fwbench analyze` (fwbench.stats.accuracy)."
    ),
    "accuracy_equivalence": (
        "One row per accuracy configuration measured in both frameworks and scope: torch - tensorflow final accuracy "
        "in percentage points, its 95% CI, TOST and verdict; written by `fwbench analyze` (fwbench.stats.accuracy)."
    ),
    "accuracy_time_to_target": (
        "One row per accuracy configuration, framework and scope: training seconds and epochs until validation "
        "accuracy first reaches a target; written by `fwbench analyze` (fwbench.stats.accuracy)."
    ),
}

# ------------------------------------------------------------------ columns with one meaning in every table
COLUMNS: dict[str, AnalysisColumn] = {
    # identity of a benchmark cell or run: the runs table's columns of the same name
    "run_id": _C("The process run (runs.run_id)."),
    "system_id": _C("Host system (runs.system_id) of the row's runs, or 'pooled' where a row summarises every "
                    "system together."),
    "cell_id": _C("The benchmark cell (runs.cell_id): a stable short hash of the cell's parameters."),
    "repetition": _C("Process repetition index k of the run within its grid (runs.repetition)."),
    "framework": _C("Deep learning framework: torch, tensorflow, jax (Flax NNX models) or keras (the Keras 3 models "
                    "trained by Keras's own loop on `backend`)."),
    "mode": _C("Execution mode: torch eager|compile; tensorflow eager|function|xla; jax eager|jit; keras eager|jit."),
    "backend": _C("Keras 3 backend of a keras cell (tensorflow, jax or torch); native for every other framework."),
    "model": _C("Model family: cnn (ResNet with BatchNorm), cnn_plain (plain conv stack), lstm or bert."),
    "variant": _C("Implementation variant of the cell (fwbench.constants.VARIANTS): standard, channels_last, "
                  "fused_bn, hoisted_input, unroll, no_onednn, isa_avx2 or onednn_on; in comparisons, the variant of "
                  "the pair (a variant "
                  "one framework has is compared with the other framework's standard model)."),
    "runtime": _C("Inference runtime of the cell (fwbench.constants.RUNTIMES): native (the framework's own mode), "
                  "torch_export, torchscript, onnxruntime, savedmodel or litert."),
    "size": _C("Named size of the model family (tiny, mini, small, medium)."),
    "phase": _C("Cell phase: train (forward+backward+optimizer step) or infer (forward only)."),
    "batch_size": _C("Samples per step.", "samples"),
    "seq_len": _C("Sequence length (0 for the CNN).", "tokens"),
    "device": _C("Device the model runs on: cpu or cuda."),
    "threads": _C("Intra-op threads of the run."),
    "dtype": _C("Parameter and activation dtype."),
    # accuracy-track configuration (accuracy_runs columns)
    "config": _C("Label of the accuracy configuration: model-size, dataset, epochs, batch size, lr schedule and base "
                 "lr, threads and device."),
    "dataset": _C("Accuracy-track dataset: digits (cnn) or periodic (lstm)."),
    "epochs": _C("Training epochs of the accuracy runs.", "epochs"),
    "lr_schedule": _C("Learning-rate schedule of the accuracy runs: constant or step."),
    "base_lr": _C("Learning rate of the first epoch (SGD with momentum, same in both frameworks)."),
    # claims and campaign_claims
    "claim_id": _C("Claim id from analysis/claims.yaml (C01, C02, ...)."),
    "claim": _C("The claim's text, as stated in analysis/claims.yaml."),
    "source": _C("Where the claim comes from (source reference in analysis/claims.yaml)."),
    "tests": _C("What the data test for this claim (text from analysis/claims.yaml)."),
    "ratio_definition": _C("What `effect` is: the metric, side A / side B, geometric mean over cells (accuracy "
                           "claims: per configuration, final accuracy A - B in percentage points or seconds to the "
                           "target A / B)."),
    "cells": _C("The cells used, ';'-separated: cell_id_a/cell_id_b comparison pairs (accuracy claims: "
                "configuration labels); null when none."),
    "effect": _C("Geometric mean over cells of the ratio A/B (throughput: > 1 means A faster; other metrics: > 1 "
                 "means A slower / uses more); accuracy claims: the configuration furthest from no difference "
                 "(accuracy: A - B in pp)."),
    "effect_low": _C("Lower bound of the 95% CI of `effect` (same scale as `effect`); NaN when untestable."),
    "effect_high": _C("Upper bound of the 95% CI of `effect` (same scale as `effect`); NaN when untestable."),
    "fragile": _C("Whether any sensitivity variant (table `sensitivity`) gives this claim another verdict in this "
                  "scope; null for claims no variant can touch."),
    "fragile_under": _C("The variants that change the verdict, ', '-separated; null when none."),
    "primary_verdict": _C("The claim's verdict under the primary analysis, in the same scope (before campaign "
                          "agreement is checked)."),
    "changed": _C("Whether this variant's verdict differs from primary_verdict; null when the variant cannot test "
                  "the claim (not testable here)."),
    "pairs_dropped": _C("Matching cell pairs left out of the claim because a side had fewer than 4 usable runs "
                        "(after steady-state exclusions); > 0 flags a claim whose set of pairs exclusions changed."),
    "dropped_pairs": _C("The pairs left out, ';'-separated: cell_id_a/cell_id_b with each side's usable run count; "
                        "null when none."),
    "threshold": _C("The region the 95% CI of `effect` must lie in for the claim to be supported, with its meaning."),
    # comparisons and campaign_comparisons
    "comparison_id": _C("Row id: '<scope>:<metric>:<cell_id_a>:<cell_id_b>', the scope being the system_id, 'pooled' "
                        "or (campaign_comparisons) the campaign."),
    "unit": _C("Unit of median_a and median_b: ms (step_time), s (first_step, first_step_warm) or MB (memory, "
               "memory_total, device_memory)."),
    "framework_a": _C("Framework of side A, the earlier in vocabulary order (torch, tensorflow, jax, keras)."),
    "backend_a": _C("Keras backend of side A (native unless framework_a is keras); backends in the order native, "
                    "tensorflow, jax, torch."),
    "mode_a": _C("Mode of side A; within one framework A is the earlier mode (torch: eager, compile; tensorflow: "
                 "eager, function, xla; jax and keras: eager, jit)."),
    "runtime_a": _C("Inference runtime of side A: native, or the runtime the model was exported to (native first)."),
    "cell_id_a": _C("Cell of side A."),
    "framework_b": _C("Framework of side B."),
    "backend_b": _C("Keras backend of side B."),
    "mode_b": _C("Mode of side B."),
    "runtime_b": _C("Inference runtime of side B. An exported runtime is compared with the natively run cells "
                    "and with the same runtime exported from the other framework."),
    "cell_id_b": _C("Cell of side B."),
    "n_a": _C("Runs of cell A with a value of this metric."),
    "n_b": _C("Runs of cell B with a value of this metric."),
    "median_a": _C("Median over cell A's runs of the per-run metric; unit in the `unit` column."),
    "median_b": _C("Median over cell B's runs of the per-run metric; unit in the `unit` column."),
    "ratio": _C("median_a / median_b; > 1 means A is slower (time metrics) or uses more (memory metrics)."),
    "direction": _C("The ratio's direction in words, naming side A's framework and mode."),
    "mwu_u": _C("Mann-Whitney U statistic of A's per-run values against B's (scipy); NaN with < 2 runs on a side."),
    "p_value": _C("Two-sided Mann-Whitney U p-value on per-run values; NaN with < 2 runs on a side."),
    "prob_a_lower": _C("P(a run of A is lower than a run of B) + P(tie)/2, 0-1; for time metrics P(A faster)."),
    "equivalence_margin": _C("TOST margin as a fraction of the ratio: equivalent means |log(A/B)| < log(1 + margin).",
                             "fraction"),
    "tost_p": _C("TOST p-value (Welch t on log per-run values) for equivalence within the margin; NaN with < 2 runs "
                 "on a side."),
    "p_adjusted": _C("Benjamini-Hochberg adjusted p_value, one family per scope (system_id, 'pooled' or campaign) "
                     "over all its rows and metrics."),
    "significant": _C("p_adjusted < 0.05; null without a test."),
    "equivalent": _C("tost_p < 0.05 (A and B equal within the margin); null without a test."),
    "ci_excludes_1": _C("Whether the 95% CI of the ratio lies entirely above or below 1; null without a CI."),
}

# ------------------------------------------------------------------ table-specific columns
_CLAIM_VERDICTS = ("supported, contradicted, direction holds, size not, inconclusive, depends on the cell, "
                   "not testable here")

_CLAIMS: dict[str, AnalysisColumn] = {
    "metric": _C("Claim metric: step_time, throughput, first_step, first_step_warm, memory, memory_total, "
                 "device_memory, accuracy or time_to_accuracy."),
    "contrast": _C("Which modes stand for each framework: defaults (torch eager vs TF function), best-of, "
                   "all-pairs, or as-stated (the modes written in analysis/claims.yaml)."),
    "n_cells": _C("Comparison cell pairs the effect is computed over (accuracy claims: configurations judged)."),
    "n_runs": _C("Runs with a value of the metric in the cells used (accuracy claims: seed values compared)."),
    "ci_method": _C("How the CI of `effect` was computed (two-stage bootstrap over cells; one cell: its ratio CI; "
                    "accuracy: the paired t test; time to accuracy: two-sample bootstrap); null when untestable."),
    "reason": _C("Why the verdict: the effect, its CI and the region, or why the claim cannot be tested here."),
    "note": _C("The claim's note from analysis/claims.yaml; null when none."),
}

_COMPARISONS: dict[str, AnalysisColumn] = {
    "metric": _C("Compared per-run metric: step_time, first_step, first_step_warm, memory, memory_total or "
                 "device_memory."),
    "kind": _C("'framework' when the two cells differ in framework, 'mode' when only in mode."),
    "ratio_low": _C("Lower bound of the 95% percentile bootstrap CI of `ratio`; NaN with < 2 runs on a side."),
    "ratio_high": _C("Upper bound of the 95% percentile bootstrap CI of `ratio`; NaN with < 2 runs on a side."),
    "ci_method": _C("Bootstrap of the ratio CI: hierarchical (runs, then steps), two-sample (runs) or three-level "
                    "(campaigns first); null with < 2 runs on a side."),
    "note": _C("Why a row has no CI or test (fewer than 2 runs on a side); null otherwise."),
}

_PER_RUN_UNIT = ("ms for step_time, s for first_step and first_step_warm, MB for memory, memory_total and "
                 "device_memory")

TABLE_COLUMNS: dict[str, dict[str, AnalysisColumn]] = {
    "steady_state": {
        "status": _C("The run's status (runs.status): ok, failed, oom, timeout or skipped."),
        "ok": _C("Whether the run counts in step-time statistics (status ok and at least 10 finite measured steps)."),
        "stationary": _C("Whether a steady state was detected; false: the run counts with the median of all its "
                         "measured steps (flagged; excluding such runs is the sensitivity variant 'exclude "
                         "non-stationary'); null when not ok."),
        "reason": _C("Why the run is excluded (status, too few steps) or flagged non-stationary (no steady state, "
                     "drift); null when ok and stationary."),
        "n_measured": _C("Measured step times recorded for the run.", "steps"),
        "steady_start": _C("0-based index of the measured step where the steady state begins (also set for runs "
                           "rejected after detection); null when none was placed.", "steps"),
        "stat_start": _C("0-based index of the first measured step the run's statistic reads: steady_start when "
                         "stationary, 0 for the all-steps fallback; null when not ok.", "steps"),
        "n_steady": _C("Measured steps from steady_start to the end.", "steps"),
        "steady_median_ms": _C("The run's step-time statistic: median of the steady-state steps, or of all measured "
                               "steps when not stationary; null when not ok.", "ms"),
        "all_median_ms": _C("Median of all measured steps, steady or not; null without measured steps.", "ms"),
        "drift_pct": _C("Level change across the steady part by its Theil-Sen slope, relative to its median; "
                        "|drift| > 10% with a 95% CI excluding +-5% excludes the run.", "%"),
        "n_change_points": _C("Change points PELT found in log step time of the measured steps."),
    },
    "cell_stats": {
        "n_systems": _C("Distinct systems whose runs the row summarises (1 unless pooled)."),
        "n_runs": _C("Run records of the cell in the scope, whatever their status."),
        "n_ok": _C("Runs with status ok."),
        "n_failed": _C("Runs whose status is not ok."),
        "n_excluded": _C("Runs with status ok but nothing to summarise (too few measured steps; excluded from step "
                         "time and throughput)."),
        "n_nonstationary": _C("Usable runs without a detected steady state, counted with the median of all their "
                              "measured steps (flagged)."),
        "excluded_reasons": _C("Why runs were excluded, as 'reason (xcount)' joined by '; '; null when none."),
        "failed_statuses": _C("Distinct non-ok statuses of the cell's runs, comma-separated; null when none."),
    },
    "comparisons": dict(_COMPARISONS),
    "campaign_comparisons": {
        **_COMPARISONS,
        "campaign_id": _C("The campaign whose runs alone this comparison uses (one execution of a grid on one "
                          "machine)."),
    },
    "claims": {
        **_CLAIMS,
        "verdict": _C(f"Verdict in this scope: {_CLAIM_VERDICTS}, or not reproducible (testable campaigns "
                      "disagree)."),
    },
    "sensitivity": {
        **_CLAIMS,
        "variant": _C("The analysis choice: primary (as published), all-pairs (every mode pair), best-of (each "
                      "framework's fastest mode per cell, chosen on held-out runs), no exclusions (all finished runs, "
                      "median of all measured steps), exclude non-stationary (runs without a detected steady state left "
                      "out), start -1 step / start +1 step (statistic start moved), trimmed mean "
                      "(10% trimmed mean instead of the median), total peak RSS (memory claims), unpaired (accuracy: "
                      "Welch instead of seed pairs), target 90% (time to accuracy: a lower target)."),
        "verdict": _C(f"Verdict in this scope under this variant: {_CLAIM_VERDICTS}."),
    },
    "campaign_claims": {
        **_CLAIMS,
        "campaign_id": _C("The campaign judged on its own (one execution of a grid on one machine)."),
        "verdict": _C(f"Verdict from this campaign's runs alone: {_CLAIM_VERDICTS}."),
        "hardware_class": _C("The class of the campaign's host (runs.hardware_class; unknown where its runs carry "
                             "none)."),
    },
    "outliers": {
        "metric": _C("Per-run metric tested: step_time, first_step, first_step_warm, memory, memory_total or "
                     "device_memory."),
        "value": _C(f"The run's value of the metric ({_PER_RUN_UNIT})."),
        "q1": _C(f"First quartile of the cell's per-run values on this system ({_PER_RUN_UNIT})."),
        "q3": _C(f"Third quartile of the cell's per-run values on this system ({_PER_RUN_UNIT})."),
        "low_fence": _C("q1 - 1.5 x (q3 - q1); a value below it is an outlier (same unit as value)."),
        "high_fence": _C("q3 + 1.5 x (q3 - q1); a value above it is an outlier (same unit as value)."),
        "side": _C("'high' if the value is above high_fence, 'low' if below low_fence."),
        "kept": _C("Always true: outliers are reported, never removed from any statistic."),
    },
    "variance": {
        "n_campaigns": _C("Campaigns with at least one usable run of the cell."),
        "n_runs": _C("Usable runs of the cell: status ok with a steady state (any system)."),
        "steps_per_run": _C("Mean steady-state steps per usable run.", "steps"),
        "campaign_var": _C("Between-campaign variance of ln(step ms), method of moments, truncated at 0; null with "
                           "fewer than 2 campaigns."),
        "process_var": _C("Between-process (run) variance of ln(step ms) within campaigns, truncated at 0; null "
                          "without a campaign of 2+ runs."),
        "step_var": _C("Within-run variance of ln(step ms) of steady-state steps (mean over runs)."),
        "campaign_share": _C("campaign_var / the sum of the estimable components, 0-1; null when not estimable.",
                             "fraction"),
        "process_share": _C("process_var / the sum of the estimable components, 0-1; null when not estimable.",
                            "fraction"),
        "step_share": _C("step_var / the sum of the estimable components, 0-1.", "fraction"),
    },
    "machine_flags": {
        "campaign_id": _C("Campaign of the run (runs.campaign_id)."),
        "canary_ms": _C("The run's canary: median time of one fixed single-threaded BLAS call, measured just before "
                        "the run.", "ms"),
        "campaign_canary_ms": _C("Median canary_ms over the runs of the run's campaign.", "ms"),
        "canary_ratio": _C("canary_ms / campaign_canary_ms; flagged when more than 20% away from 1."),
        "steal_pct": _C("CPU steal (hypervisor ran another guest) in % of all CPU time over the run.", "%"),
        "campaign_steal_pct": _C("Median steal_pct over the runs of the run's campaign.", "%"),
        "flagged": _C("Canary more than 20% from its campaign's median, or steal more than 2 points above it; "
                      "flagged runs are kept."),
        "reason": _C("Why the run is flagged (canary ratio and/or steal); null when not flagged."),
    },
    "protocol_sizing": {
        "warmup": _C("Candidate warm-up steps per run.", "steps"),
        "measured": _C("Candidate measured steps per run.", "steps"),
        "repetitions": _C("Candidate process runs per cell."),
        "steady_share": _C("Predicted share of ok runs that would have a steady state under this warm-up and "
                           "measured steps, from the observed transients, 0-1.", "fraction"),
        "cells_within_target": _C("Share of cells whose predicted 95% CI of the median step time has a half-width "
                                  "<= 5% with these repetitions, 0-1.", "fraction"),
        "median_half_width": _C("Median over cells of the predicted relative half-width of that CI (0.05 = +-5%).",
                                "fraction"),
        "minutes": _C("Predicted wall time of one grid: per cell (fixed cost + steps x median step) x repetitions, "
                      "plus the accuracy track.", "min"),
        "n_cells": _C("Cells with ok runs whose costs and spreads the prediction uses."),
        "n_transients": _C("Ok runs with a placed steady start, whose transients the steady share is read from."),
        "max_observed_steps": _C("Most warm-up + measured steps of the runs: transients longer than this cannot be "
                                 "seen.", "steps"),
    },
    "reproducibility": {
        "kind": _C("'claim' (a claim's effect) or 'comparison' (a cell comparison's ratio)."),
        "id": _C("The claim_id, or '<metric>:<cell_id_a>:<cell_id_b>' for a comparison."),
        "label": _C("The claim's text, or the comparison's metric, workload and sides in words."),
        "campaign_a": _C("The earlier campaign of the pair (campaign ids sort by start time)."),
        "campaign_b": _C("The later campaign of the pair."),
        "n_common_cells": _C("Cells both campaigns measured: the ground both are judged on, claims and comparisons "
                             "alike."),
        "effect_a": _C("Claim effect or comparison ratio in campaign_a (scale of claims.effect / comparisons.ratio)."),
        "low_a": _C("Lower bound of the 95% CI of effect_a."),
        "high_a": _C("Upper bound of the 95% CI of effect_a."),
        "verdict_a": _C("Claim verdict in campaign_a, or for a comparison: A higher, A lower, CI includes 1, no CI."),
        "effect_b": _C("Claim effect or comparison ratio in campaign_b."),
        "low_b": _C("Lower bound of the 95% CI of effect_b."),
        "high_b": _C("Upper bound of the 95% CI of effect_b."),
        "verdict_b": _C("Claim verdict in campaign_b, or for a comparison: A higher, A lower, CI includes 1, no CI."),
        "ratio_b_over_a": _C("effect_b / effect_a: 1 = the same effect in both campaigns (NaN for claims unless both "
                             "effects are positive)."),
        "ratio_low": _C("Lower bound of the 95% CI of ratio_b_over_a."),
        "ratio_high": _C("Upper bound of the 95% CI of ratio_b_over_a."),
        "ratio_ci_method": _C("How that CI was computed: normal on the log scale from both CIs (claims), or "
                              "percentile of both campaigns' bootstrap replicates (comparisons)."),
        "agree": _C("Claims: same verdict in both campaigns; comparisons: CI on the same side of 1 (or both include "
                    "it); null when either is untestable."),
    },
    "framework_contrasts": {
        "contrast": _C("keras_layer (Keras 3 on a backend vs that backend's own framework in the matching mode: "
                       "keras[jax] jit vs jax jit, keras[tensorflow] jit vs tensorflow xla, keras[torch] eager vs "
                       "torch eager ...) or jax (JAX vs torch and TensorFlow)."),
        "subject": _C("The implementation the ratio is about (keras[backend] mode, or jax mode)."),
        "reference": _C("The implementation it is measured against."),
        "backend": _C("The Keras backend of a keras_layer row; native for jax rows."),
        "ratio": _C("Median step time subject / reference: > 1 means the subject is slower (for keras_layer: the "
                    "Keras layer costs that factor)."),
        "ratio_low": _C("Lower bound of the 95% CI of ratio (the comparisons row's CI, oriented); NaN with < 4 "
                        "usable runs on a side."),
        "ratio_high": _C("Upper bound of that CI."),
        "median_subject_ms": _C("Median steady-state step time of the subject's runs.", "ms"),
        "median_reference_ms": _C("Median steady-state step time of the reference's runs.", "ms"),
        "n_subject": _C("Runs of the subject with a step time."),
        "n_reference": _C("Runs of the reference with a step time."),
        "ci_excludes_1": _C("Whether the ratio's 95% CI excludes 1."),
        "comparison_id": _C("Id of the step-time comparison (of the frameworks grid's runs) the ratio comes from."),
    },
    "claim_predictions": {
        "hardware_class": _C("The class pooled (runs.hardware_class), or 'all' for every campaign together."),
        "k": _C("Campaigns pooled (with a finite effect and CI)."),
        "campaigns": _C("Their campaign ids, ';'-separated."),
        "tau2": _C("Paule-Mandel between-campaign variance of the log effect (of the difference for pp claims); "
                   "null for k = 1."),
        "effect": _C("Random-effects pooled effect (the campaign's own for k = 1)."),
        "effect_low": _C("Lower bound of its 95% CI (t with k-1 df)."),
        "effect_high": _C("Upper bound of its 95% CI."),
        "pi_low": _C("Lower bound of the 95% prediction interval for a new campaign; null below k = 3."),
        "pi_high": _C("Upper bound of the prediction interval."),
        "basis": _C("The interval the verdict rests on: campaign CI (k = 1), pooled CI (k = 2), prediction interval "
                    "(k >= 3; flagged imprecise below k = 5)."),
        "verdict": _C("The claim's region rule applied to that interval."),
        "reason": _C("The basis and how the interval lies against the claim's region."),
        "predictive_verdict": _C("'all' rows: not reproducible (two campaigns of one class on opposite sides), "
                                 "depends on the hardware (two classes' pooled CIs on opposite sides), holds on every "
                                 "class measured, or else the all-campaign verdict; null on class rows."),
        "summary": _C("'all' rows: each class's verdict and effect, and any within-class disagreement."),
        "q_between": _C("'all' rows: fixed-effect Q of all campaigns minus the classes' own Q (subgroup test)."),
        "df_between": _C("Its degrees of freedom: classes - 1."),
        "p_between": _C("Chi-squared p-value of q_between: small when the class explains the heterogeneity."),
    },
    "ratio_variance": {
        **_COMPARISONS,
        "hardware_class": _C("The class whose campaigns are pooled (runs.hardware_class), or 'all'."),
        "k": _C("Campaigns with a CI for this comparison in the class."),
        "ratio": _C("Random-effects pooled ratio median_a / median_b over those campaigns."),
        "tau2": _C("Paule-Mandel between-campaign variance of the log ratio (statsmodels combine_effects)."),
        "within_var": _C("Mean over the campaigns of the squared standard error of the log ratio, read from each "
                         "campaign's bootstrap 95% CI: the within-campaign variance at the measured repetitions."),
        "between_share": _C("tau2 / (tau2 + within_var): the share of the log ratio's variance between campaigns.",
                            "fraction"),
        "campaigns_for_5pct": _C("Smallest k >= 3 whose 95% prediction interval t(k-2) sqrt(tau2 + (tau2 + "
                                 "within_var)/k) is within +-5%; null when no k up to 100 reaches it."),
        "pi_half_width_limit": _C("The prediction interval's half-width as k grows without bound, exp(1.96 sqrt(tau2)) "
                                  "- 1: no number of campaigns makes it narrower.", "fraction"),
    },
    "aa_checks": {
        "hardware_class": _C("The class of the campaign (runs.hardware_class), or 'all'."),
        "campaign_id": _C("The campaign whose cells are split, or 'all' for every campaign of the class."),
        "runs_per_half": _C("Usable runs of the smaller half of each cell counted (3 for a 7-repetition cell, 2 for "
                            "a 5-repetition one): the rate is that of the CI at this many runs a side."),
        "n_cells": _C("Cells with runs_per_half runs in the smaller half (2+ in each half)."),
        "n_false_positive": _C("Of those, cells whose A/A 95% CI excludes 1."),
        "false_positive_rate": _C("n_false_positive / n_cells (nominal: 0.05).", "fraction"),
        "rate_low": _C("Lower bound of the Wilson 95% CI of the rate.", "fraction"),
        "rate_high": _C("Upper bound of that CI.", "fraction"),
        "median_abs_log_ratio": _C("Median |log(half A / half B)| over the cells: the typical A/A difference."),
    },
    "loo_coverage": {
        "hardware_class": _C("The class (4+ campaigns)."),
        "left_out": _C("The campaign left out."),
        "k_others": _C("Campaigns the interval is pooled from."),
        "effect": _C("The left-out campaign's effect."),
        "pi_low": _C("Lower bound of the others' 95% prediction interval."),
        "pi_high": _C("Upper bound of that interval."),
        "covered": _C("Whether the interval contains the left-out effect (the share should be near 95%)."),
    },
    "isa_effects": {
        "campaign_id": _C("The campaign whose runs alone the ratio uses (variant and native cells of one day)."),
        "hardware_class": _C("The host's hardware class (runs.hardware_class: the ISA tier of its recorded flags)."),
        "variant": _C("native kernels (standard), both frameworks capped at AVX2 (isa_avx2), or TF's oneDNN forced "
                      "on against torch's standard cell (onednn_on)."),
        "ratio": _C("Median step time torch eager / TF function: < 1 means torch is faster."),
        "ratio_low": _C("Lower bound of the 95% CI of ratio (the comparisons' hierarchical bootstrap); NaN with < 4 "
                        "usable runs on a side."),
        "ratio_high": _C("Upper bound of that CI."),
        "n_torch": _C("torch runs with a step time."),
        "n_tensorflow": _C("TensorFlow runs with a step time."),
        "torch_cpu_capability": _C("The ATen capability the torch runs reported (most common over its ok runs)."),
        "torch_onednn_isa": _C("The ISA torch's oneDNN reported in its verbose log of one untimed step (runs."
                               "onednn_isa); null where no oneDNN primitive ran or in older records."),
        "tensorflow_onednn": _C("Whether TensorFlow's runs had oneDNN on (IsMklEnabled)."),
    },
    "which_runtime": {
        "scenario": _C("latency (batch 1: a single stream of requests, judged by p99) or throughput (batch > 1, "
                       "judged by the step time)."),
        "metric": _C("The per-run column judged: p99_ms (latency) or step_ms (throughput)."),
        "n_runs": _C("Runs of the candidate with a value of the metric."),
        "median": _C("Median over runs of the metric.", "ms"),
        "median_low": _C("Lower bound of the 95% percentile bootstrap CI of that median (runs resampled).", "ms"),
        "median_high": _C("Upper bound of that CI.", "ms"),
        "throughput_sps": _C("batch_size x 1000 / median (throughput scenario; NaN for latency).", "samples/s"),
        "rank": _C("1 = the fastest candidate of the workload (lowest median)."),
        "ratio_to_fastest": _C("median / the fastest candidate's median (>= 1)."),
        "ratio_low": _C("Lower bound of the 95% bootstrap CI of ratio_to_fastest (1 for the fastest itself)."),
        "ratio_high": _C("Upper bound of that CI."),
        "fastest": _C("Whether this candidate is the fastest of its workload."),
        "tied_with_fastest": _C("Whether the CI of ratio_to_fastest reaches 1: not distinguishable from the "
                                "fastest with these runs."),
    },
    "layer_ablation": {
        **_CLAIMS,
        "model": _C("The model family the claim is narrowed to (cnn, cnn_plain or lstm)."),
        "verdict": _C(f"The claim's verdict on this family and variant: {_CLAIM_VERDICTS}."),
        "baseline_effect": _C("The claim's effect on the standard model over the workloads this variant was measured "
                              "at (null on the standard rows themselves)."),
        "baseline_effect_low": _C("Lower bound of the 95% CI of baseline_effect."),
        "baseline_effect_high": _C("Upper bound of the 95% CI of baseline_effect."),
        "baseline_verdict": _C("The standard model's verdict on those workloads."),
        "survives": _C("Whether the variant's verdict equals baseline_verdict (the framework verdict survives the "
                       "change of implementation); null for standard rows and when either is not testable."),
    },
    "break_even": {
        "mode_compiled": _C("The compiled mode: torch compile; tensorflow function or xla."),
        "mode_eager": _C("The baseline: the same framework's eager mode."),
        "compile_cache": _C("The compiled mode's first step: cold (a fresh start, no or an empty compile cache) or "
                            "warm (torch.compile with a warm on-disk cache); eager's first step is always cold."),
        "cell_id_compiled": _C("Cell of the compiled mode."),
        "cell_id_eager": _C("Cell of the eager mode."),
        "n_compiled": _C("Usable runs of the compiled cell (the fewer of step-time and first-step values)."),
        "n_eager": _C("Usable runs of the eager cell (the fewer of step-time and first-step values)."),
        "n_step_compiled": _C("Compiled runs with a steady-state step time."),
        "n_step_eager": _C("Eager runs with a steady-state step time."),
        "n_first_compiled": _C("Compiled runs with a first step in this compile_cache state."),
        "n_first_eager": _C("Eager runs with a cold (or no-cache) first step."),
        "step_ms_eager": _C("Median over runs of the eager steady-state step time.", "ms"),
        "step_ms_compiled": _C("Median over runs of the compiled steady-state step time.", "ms"),
        "first_step_s_eager": _C("Median over runs of the eager first step.", "s"),
        "first_step_s_compiled": _C("Median over runs of the compiled first step (trace/compile included), in this "
                                    "compile_cache state.", "s"),
        "extra_first_step_s": _C("first_step_s_compiled - first_step_s_eager: what compiling costs up front.", "s"),
        "saving_ms_per_step": _C("step_ms_eager - step_ms_compiled: what each later step saves.", "ms"),
        "break_even_steps": _C("Smallest step count from which the compiled mode's cumulative time stays at or below "
                               "eager's; inf = never (the compiled step is not faster).", "steps"),
        "break_even_low": _C("Lower bound of the 95% percentile bootstrap CI of break_even_steps.", "steps"),
        "break_even_high": _C("Upper bound of that CI; inf when the compiled mode never pays off in over 2.5% of "
                              "replicates.", "steps"),
        "never_share": _C("Share of bootstrap replicates in which the compiled mode never pays off, 0-1.", "fraction"),
        "ci_method": _C("How the CI was computed: percentile of replicate break-even counts, from the comparisons' "
                        "bootstrap replicates of both step times and first steps."),
        "note": _C("Why there is no CI (too few runs; the estimate is then descriptive), or why never; null "
                   "otherwise."),
    },
    "accuracy_final": {
        "modes": _C("Modes of the framework's runs in the group, comma-separated."),
        "n_runs": _C("Finished runs (status ok, with a final accuracy) of this framework and configuration."),
        "median": _C("Median final validation accuracy over the runs, 0-1.", "fraction"),
        "ci_low": _C("Lower bound of the 95% bootstrap CI of the median.", "fraction"),
        "ci_high": _C("Upper bound of the 95% bootstrap CI of the median.", "fraction"),
        "ci_method": _C("Method of that CI: BCa, percentile, degenerate (all runs equal) or none (reason)."),
        "mean": _C("Mean final validation accuracy over the runs, 0-1.", "fraction"),
        "sd": _C("Sample standard deviation of final validation accuracy; NaN with one run.", "fraction"),
    },
    "accuracy_equivalence": {
        "diff_pp": _C("Mean difference torch - tensorflow of final validation accuracy (paired over seeds, else "
                      "Welch).", "pp"),
        "diff_low_pp": _C("Lower bound of the 95% t CI of diff_pp.", "pp"),
        "diff_high_pp": _C("Upper bound of the 95% t CI of diff_pp.", "pp"),
        "margin_pp": _C("Equivalence margin: supported when the CI lies inside (-margin, +margin).", "pp"),
        "p_tost": _C("TOST p-value for |difference| < margin_pp."),
        "n_torch": _C("torch values compared (one per system and seed, repetitions averaged)."),
        "n_tensorflow": _C("tensorflow values compared (one per system and seed, repetitions averaged)."),
        "n_pairs": _C("Seed pairs of the paired t test; 0 when seeds do not pair up (Welch)."),
        "method": _C("The test used: paired t over seed pairs, or Welch t when seeds do not pair up."),
        "verdict": _C("supported (CI inside +-margin_pp), contradicted (entirely outside), inconclusive "
                      "(across a bound) or not testable here (< 2 values per framework)."),
    },
    "accuracy_time_to_target": {
        "target_accuracy": _C("Validation accuracy target: 0.95 x the lower of the two frameworks' median final "
                              "accuracies in this configuration.", "fraction"),
        "n_runs": _C("Finished runs (status ok, with a final accuracy) of this framework and configuration."),
        "n_reached": _C("Of them, runs whose validation accuracy reached the target in some epoch."),
        "median_s": _C("Median over runs that reached it of training seconds to the target (sum of epoch wall_s, "
                       "evaluation excluded).", "s"),
        "ci_low_s": _C("Lower bound of the 95% bootstrap CI of median_s.", "s"),
        "ci_high_s": _C("Upper bound of the 95% bootstrap CI of median_s.", "s"),
        "ci_method": _C("Method of that CI: BCa, percentile, degenerate (all runs equal) or none (reason)."),
        "median_epochs": _C("Median 1-based epoch at which the target was first reached; NaN when no run reached it.",
                            "epochs"),
    },
}

# ------------------------------------------------------------------ cell_stats: <metric>_<statistic>
CELL_STATS_METRICS: dict[str, tuple[str, str]] = {
    "step_ms": ("per-run median steady-state step time (runs with status ok and a steady state)", "ms"),
    "throughput_sps": ("per-run throughput, batch_size x 1000 / the run's step_ms", "samples/s"),
    "first_step_s": ("per-run first step time, trace/compile included, with a cold or no compile cache (status ok)",
                     "s"),
    "first_step_warm_s": ("per-run first step time with a warm on-disk compile cache (status ok)", "s"),
    "peak_rss_above_import_mb": ("per-run peak RSS above the post-import baseline (status ok)", "MB"),
    "peak_rss_mb": ("per-run total peak RSS, framework import included (status ok)", "MB"),
    "device_peak_mb": ("per-run framework peak device memory (status ok; none on cpu)", "MB"),
    **{f"p{q}_ms": (f"per-run {q}th percentile of all measured step times (status ok; at batch 1, the p{q} "
                    "request latency)", "ms") for q in LATENCY_PERCENTILES},
}

#: `{metric}` is replaced by the metric's text of CELL_STATS_METRICS.
CELL_STATS_STATISTICS: dict[str, str] = {
    "median": "Median over the cell's runs of the {metric}.",
    "low": "Lower bound of the 95% bootstrap CI of the median of the {metric}; NaN without a CI.",
    "high": "Upper bound of the 95% bootstrap CI of the median of the {metric}; NaN without a CI.",
    "ci_method": ("Method of the CI of the median of the {metric}: BCa, percentile, degenerate (all runs equal) "
                  "or none (reason)."),
    "n": "Runs with a value of the {metric}.",
}
# statistics in the metric's own unit (the others are a method name and a count)
_VALUED_STATISTICS: frozenset[str] = frozenset({"median", "low", "high"})


def _cell_stats_column(name: str) -> AnalysisColumn | None:
    for statistic, template in CELL_STATS_STATISTICS.items():
        prefix = name[: -len(statistic) - 1]
        if name.endswith("_" + statistic) and prefix in CELL_STATS_METRICS:
            text, unit = CELL_STATS_METRICS[prefix]
            return AnalysisColumn(template.format(metric=text), unit if statistic in _VALUED_STATISTICS else "")
    return None


def analysis_column(table: str, name: str) -> AnalysisColumn | None:
    """TABLE_COLUMNS, then COLUMNS, then (for cell_stats) the <metric>_<statistic> pattern; None if undocumented."""
    specific = TABLE_COLUMNS.get(table, {}).get(name)
    if specific is not None:
        return specific
    if name in COLUMNS:
        return COLUMNS[name]
    if table == "cell_stats":
        return _cell_stats_column(name)
    return None
