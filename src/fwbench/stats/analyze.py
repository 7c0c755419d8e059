"""The whole analysis on one dataset: runs/steps frames in, the result tables out.

`analyze` is pure (frames in, frames out, fixed seed); `write_analysis` stores every table in the
results database and as Parquet, plus the claims verdict table as JSON and CSV for the paper.
Accuracy claims (C08, C14) are judged by the claims code like any other; with accuracy runs the
accuracy track's tables (accuracy_final, accuracy_equivalence, accuracy_time_to_target) are written too.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import polars as pl

from fwbench.campaigns import UNASSIGNED
from fwbench.stats.aa_checks import aa_checks
from fwbench.stats.accuracy import MARGIN_PP, analyze_accuracy
from fwbench.stats.bootstrap import N_RESAMPLES, SEED
from fwbench.stats.break_even import break_even_table
from fwbench.stats.cell_stats import cell_stats
from fwbench.stats.claims import Claim, Evidence, evaluate_claims, load_claims
from fwbench.stats.comparisons import EQUIVALENCE_MARGIN, compare
from fwbench.stats.framework_contrasts import framework_contrasts
from fwbench.stats.isa_effects import isa_effects
from fwbench.stats.layer_ablation import layer_ablation
from fwbench.stats.machine_flags import machine_flags
from fwbench.stats.metrics import run_table, steady_state_table, steady_steps
from fwbench.stats.outliers import tukey_outliers
from fwbench.stats.pooling import claim_predictions, loo_coverage, with_classes
from fwbench.stats.protocol_sizing import accuracy_seconds, size_protocol
from fwbench.stats.ratio_variance import ratio_variance
from fwbench.stats.reproducibility import analyze_campaigns, variance_components, with_campaign_verdicts
from fwbench.stats.sensitivity import fragile, sensitivity
from fwbench.stats.which_runtime import which_runtime

REQUIRED_RUN_COLUMNS: tuple[str, ...] = (
    "run_id", "system_id", "cell_id", "repetition", "framework", "mode", "model", "size", "phase",
    "batch_size", "seq_len", "device", "threads", "dtype", "status", "error", "first_step_s",
    "peak_rss_mb", "peak_rss_above_import_mb", "device_peak_mb",
)
REQUIRED_STEP_COLUMNS: tuple[str, ...] = ("run_id", "step_index", "phase", "ms")
#: Database tables `analyze` reads; the accuracy ones may be absent (no accuracy runs ingested).
INPUT_TABLES: tuple[str, ...] = ("runs", "steps", "accuracy_runs", "accuracy_epochs")


@dataclass
class Analysis:
    """Every table `fwbench analyze` writes (one DuckDB table / Parquet file each)."""

    steady_state: pl.DataFrame
    cell_stats: pl.DataFrame
    comparisons: pl.DataFrame
    claims: pl.DataFrame
    outliers: pl.DataFrame
    #: per cell: shares of log-step-time variance from campaign, process and step
    variance: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: per comparison and hardware class: between- (tau2) and within-campaign variance of the log ratio
    ratio_variance: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: A/A: the false-positive rate of the comparison CI on two halves of the same cells
    aa_checks: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: runs whose canary or steal departs from their campaign's median (flagged, never dropped)
    machine_flags: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: candidate protocols (warm-up, measured steps, repetitions) with predicted steady share, CI and minutes
    protocol_sizing: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: each campaign judged on its own, and campaign pairs side by side (empty with one campaign)
    campaign_claims: pl.DataFrame = field(default_factory=pl.DataFrame)
    campaign_comparisons: pl.DataFrame = field(default_factory=pl.DataFrame)
    reproducibility: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: each claim re-judged under each analysis variant that can touch it (fwbench.stats.sensitivity)
    sensitivity: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: per workload and compiled mode: the steps after which compiling has paid for itself (fwbench.stats.break_even)
    break_even: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: CNN/LSTM framework claims per model family and implementation variant (fwbench.stats.layer_ablation)
    layer_ablation: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: per inference workload: the fastest framework/mode/runtime and those tied with it (fwbench.stats.which_runtime)
    which_runtime: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: the Keras layer's cost per backend and JAX vs torch/TensorFlow (fwbench.stats.framework_contrasts)
    framework_contrasts: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: per claim and hardware class: random-effects pool of the campaign effects, prediction interval, verdict
    claim_predictions: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: leave one campaign out: does the others' prediction interval contain it (classes with 4+ campaigns)
    loo_coverage: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: torch/TF training ratios per campaign, native and under the ISA variants (fwbench.stats.isa_effects)
    isa_effects: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: accuracy_final, accuracy_equivalence, accuracy_time_to_target (empty without accuracy runs)
    accuracy: dict[str, pl.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, pl.DataFrame]:
        core = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "accuracy"}
        return {**core, **self.accuracy}


def _check_columns(df: pl.DataFrame, required: tuple[str, ...], name: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks column(s) {', '.join(missing)}; needs {', '.join(required)}")


def analyze(runs: pl.DataFrame, steps: pl.DataFrame, claims: list[Claim] | None = None, *,
            accuracy_runs: pl.DataFrame | None = None, accuracy_epochs: pl.DataFrame | None = None,
            seed: int = SEED, n_resamples: int = N_RESAMPLES, margin: float = EQUIVALENCE_MARGIN) -> Analysis:
    """Steady state -> per-run table -> cell stats, comparisons, outliers -> claim verdicts (speed,
    memory and accuracy claims alike, fwbench.stats.claims); with accuracy runs, the accuracy tables."""
    _check_columns(runs, REQUIRED_RUN_COLUMNS, "runs")
    _check_columns(steps, REQUIRED_STEP_COLUMNS, "steps")
    claims = load_claims() if claims is None else claims
    if "campaign_id" not in runs.columns:  # frames built without ingest: one campaign
        runs = runs.with_columns(pl.lit(UNASSIGNED).alias("campaign_id"))
    accuracy_runs = accuracy_runs if accuracy_runs is not None else pl.DataFrame()
    accuracy_epochs = accuracy_epochs if accuracy_epochs is not None else pl.DataFrame()
    steady = steady_state_table(runs, steps)
    per_run = run_table(runs, steady)
    steps_by_run = steady_steps(steps, steady)
    comps = compare(per_run, steps_by_run, margin=margin, seed=seed, n_resamples=n_resamples)
    evidence = Evidence(per_run, comps, steps_by_run, accuracy_runs, accuracy_epochs, seed, n_resamples, margin)
    by_campaign = analyze_campaigns(claims, evidence)
    campaign_claims = with_classes(by_campaign.claims, per_run) if by_campaign.claims.width else by_campaign.claims
    primary = evaluate_claims(claims, evidence)
    varied = sensitivity(claims, primary, evidence, runs, steps, steady)
    claims_table = with_campaign_verdicts(primary, by_campaign.claims, by_campaign.reproducibility).join(
        fragile(varied), on=["claim_id", "system_id"], how="left")
    accuracy: dict[str, pl.DataFrame] = {}
    if accuracy_runs.height:
        acc = analyze_accuracy(accuracy_runs, accuracy_epochs, margin_pp=accuracy_margin(claims), seed=seed,
                               n_resamples=n_resamples)
        accuracy = acc.tables()
    return Analysis(
        steady_state=steady,
        cell_stats=cell_stats(per_run, seed=seed, n_resamples=n_resamples),
        comparisons=comps.table,
        claims=claims_table,
        outliers=tukey_outliers(per_run),
        variance=variance_components(per_run, steps_by_run),
        machine_flags=machine_flags(runs),
        protocol_sizing=size_protocol(runs, steady, per_run, accuracy_seconds(accuracy_runs)),
        campaign_claims=campaign_claims,
        campaign_comparisons=by_campaign.comparisons,
        reproducibility=by_campaign.reproducibility,
        claim_predictions=claim_predictions(claims, campaign_claims, per_run),
        loo_coverage=loo_coverage(claims, campaign_claims, per_run),
        ratio_variance=ratio_variance(by_campaign.comparisons, per_run),
        aa_checks=aa_checks(per_run, steps_by_run, seed=seed, n_resamples=n_resamples),
        sensitivity=varied,
        break_even=break_even_table(per_run, steps_by_run, seed=seed, n_resamples=n_resamples),
        layer_ablation=layer_ablation(claims, per_run, steps_by_run, seed=seed, n_resamples=n_resamples,
                                      margin=margin),
        which_runtime=which_runtime(per_run, seed=seed, n_resamples=n_resamples),
        framework_contrasts=framework_contrasts(per_run, steps_by_run, seed=seed, n_resamples=n_resamples,
                                                margin=margin),
        isa_effects=isa_effects(per_run, steps_by_run, seed=seed, n_resamples=n_resamples, margin=margin),
        accuracy=accuracy,
    )


def accuracy_margin(claims: list[Claim]) -> float:
    """The equivalence margin (pp) of the accuracy claim in the claims file, for the descriptive
    accuracy_equivalence table (fwbench.stats.accuracy.MARGIN_PP without one)."""
    bounds = [abs(b) for c in claims if c.metric == "accuracy" for b in (c.threshold.low, c.threshold.high)
              if b is not None]
    return max(bounds) if bounds else MARGIN_PP


def load_inputs(db_path: str | os.PathLike[str]) -> dict[str, pl.DataFrame]:
    """The INPUT_TABLES from the results database; an absent accuracy table is an empty frame."""
    from fwbench import dataset

    available = set(dataset.load(db_path))  # names only: frames are lazy
    frames = dataset.load(db_path, tables=[t for t in INPUT_TABLES if t in available or t in ("runs", "steps")])
    return {t: frames[t].collect() if t in frames else pl.DataFrame() for t in INPUT_TABLES}


def write_analysis(result: Analysis, db_path: str | os.PathLike[str] | None,
                   out_dir: str | os.PathLike[str]) -> list[Path]:
    """Replace the analysis tables in the database, write Parquet + claims.json/.csv to out_dir.

    A table without columns (no accuracy runs, or none that qualify; one campaign, so no campaign
    tables) is dropped from the database and out_dir, so no stale results outlive their runs. All tables go through
    one dataset.write_tables call, so datapackage.json is rebuilt once (each table gets its own
    cursor there: a write leaves its cursor's last result open).
    """
    from fwbench import dataset

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    produced = result.tables()
    tables: dict[str, pl.DataFrame | None] = dict(produced)
    for name in ("accuracy_final", "accuracy_equivalence", "accuracy_time_to_target"):
        tables.setdefault(name, None)  # absent without accuracy runs: drop what an earlier analysis left
    for name, frame in produced.items():
        if not frame.width:
            tables[name] = None  # None drops the table and its Parquet file
    con = dataset.connect(db_path)
    try:
        written = dataset.write_tables(con, tables, out)
    finally:
        con.close()
    claims = result.claims
    claims.write_csv(out / "claims.csv")
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in claims.to_dicts()]
    (out / "claims.json").write_text(json.dumps(rows, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return written + [out / "claims.csv", out / "claims.json"]
