"""Campaigns as a level of the statistics: does an effect hold on another day, on another machine?

A shared host moves by 2-3.5x between days, and not by the same factor for every framework, so a
verdict from one campaign says little on its own. With 2-4 campaigns a bootstrap over campaigns
gives no real interval, so each campaign is judged on its own (the same comparisons and claim
rules, fwbench.stats.comparisons and .claims, with the campaign in place of the host), on the
cells that another campaign measured too, and the campaigns must agree: a claim whose testable
verdicts differ between campaigns is `not reproducible`, whatever the pooled data say, and the
table shows every campaign's effect. From
five campaigns on, pooled intervals also resample campaigns first, then runs, then steps
(fwbench.stats.bootstrap.campaign_medians, used by fwbench.stats.comparisons).

- `campaign_claims` / `campaign_comparisons`: the verdicts and ratios of each campaign;
- `reproducibility`: per claim and per comparison, each pair of campaigns side by side with the
  ratio of their effects (later / earlier) and its 95% CI;
- `variance_components`: per cell, the shares of the variance of log step time that come from
  campaigns, from processes within a campaign and from steps within a process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import polars as pl

from fwbench.stats.bootstrap import CONFIDENCE
from fwbench.stats.claims import Claim, Evidence, evaluate_claims
from fwbench.stats.comparisons import compare
from fwbench.stats.metrics import CELL_FIELDS, POOLED

NOT_REPRODUCIBLE = "not reproducible"
UNTESTABLE = "not testable here"
Z = 1.959963984540054  # two-sided 95% normal quantile


@dataclass
class CampaignAnalysis:
    """Per-campaign verdicts and comparisons, and the campaign-pair table built from them."""

    claims: pl.DataFrame
    comparisons: pl.DataFrame
    reproducibility: pl.DataFrame


def campaigns_in(runs: pl.DataFrame) -> list[str]:
    """The campaign ids of a run table, in id (= start time) order."""
    if "campaign_id" not in runs.columns:
        return []
    return sorted(runs.get_column("campaign_id").drop_nulls().unique().to_list())


def shared_cells(per_run: pl.DataFrame) -> pl.DataFrame:
    """The runs of cells that at least two campaigns measured: campaigns are compared on common ground,
    so a campaign of another grid (the ablation grid's shape sweeps) adds cells, not disagreement."""
    spread = per_run.group_by("cell_id").agg(pl.col("campaign_id").n_unique().alias("_campaigns"))
    shared = spread.filter(pl.col("_campaigns") >= 2).get_column("cell_id")
    return per_run.filter(pl.col("cell_id").is_in(shared.implode()))


def analyze_campaigns(claims: list[Claim], evidence: Evidence) -> CampaignAnalysis:
    """Judge each campaign on its own (the campaign in place of the host), on the cells it shares with
    another campaign (shared_cells); empty tables with fewer than two campaigns."""
    per_run = evidence.runs
    if len(campaigns_in(per_run)) < 2:
        return CampaignAnalysis(pl.DataFrame(), pl.DataFrame(), empty_reproducibility())
    by_campaign = shared_cells(per_run).with_columns(pl.col("campaign_id").alias("system_id"))
    comps = compare(by_campaign, evidence.steps_by_run, margin=evidence.margin, seed=evidence.seed,
                    n_resamples=evidence.n_resamples)
    comparisons = comps.table.filter(pl.col("system_id") != POOLED).rename({"system_id": "campaign_id"})
    accuracy = evidence.accuracy_runs
    if accuracy.height and "campaign_id" in accuracy.columns:
        accuracy = accuracy.with_columns(pl.col("campaign_id").alias("system_id"))
    campaign_evidence = replace(evidence, runs=by_campaign, comps=comps, accuracy_runs=accuracy)
    verdicts = (evaluate_claims(claims, campaign_evidence)
                .filter(pl.col("system_id") != POOLED).rename({"system_id": "campaign_id"}))
    system_of = dict(per_run.select("campaign_id", "system_id").unique().iter_rows())
    if accuracy.height and "campaign_id" in accuracy.columns:
        system_of |= dict(evidence.accuracy_runs.select("campaign_id", "system_id").unique().iter_rows())
    verdicts = verdicts.with_columns(pl.col("campaign_id").replace_strict(system_of).alias("system_id"))
    repro = pl.concat([_claim_pairs(verdicts), _comparison_pairs(comparisons, comps.log_replicates)],
                      how="diagonal_relaxed") if verdicts.height else empty_reproducibility()
    return CampaignAnalysis(verdicts, comparisons, repro.select(empty_reproducibility().columns))


def empty_reproducibility() -> pl.DataFrame:
    s, f, b = pl.String, pl.Float64, pl.Boolean
    return pl.DataFrame(schema={
        "kind": s, "id": s, "label": s, "campaign_a": s, "campaign_b": s,
        "effect_a": f, "low_a": f, "high_a": f, "verdict_a": s, "effect_b": f, "low_b": f, "high_b": f,
        "verdict_b": s, "ratio_b_over_a": f, "ratio_low": f, "ratio_high": f, "ratio_ci_method": s, "agree": b,
    })


def _log_se(low: float, high: float) -> float:
    """Standard error of log(effect) read back from a 95% interval (normal approximation)."""
    return (math.log(high) - math.log(low)) / (2 * Z) if low > 0 and high > 0 else math.nan


def _claim_pairs(verdicts: pl.DataFrame) -> pl.DataFrame:
    """Each claim, each pair of campaigns: both effects and verdicts, and the ratio of the effects."""
    rows = []
    for (claim_id,), group in verdicts.sort("claim_id", "campaign_id").group_by(["claim_id"], maintain_order=True):
        for a, b in combinations(group.iter_rows(named=True), 2):
            ratio = low = high = math.nan
            if all(math.isfinite(x) and x > 0 for x in (a["effect"], b["effect"])):
                ratio = b["effect"] / a["effect"]
                se = math.hypot(_log_se(a["effect_low"], a["effect_high"]), _log_se(b["effect_low"], b["effect_high"]))
                low, high = ratio * math.exp(-Z * se), ratio * math.exp(Z * se)
            testable = UNTESTABLE not in (a["verdict"], b["verdict"])
            rows.append({"kind": "claim", "id": claim_id, "label": a["claim"],
                         "campaign_a": a["campaign_id"], "campaign_b": b["campaign_id"],
                         "effect_a": a["effect"], "low_a": a["effect_low"], "high_a": a["effect_high"],
                         "verdict_a": a["verdict"], "effect_b": b["effect"], "low_b": b["effect_low"],
                         "high_b": b["effect_high"], "verdict_b": b["verdict"], "ratio_b_over_a": ratio,
                         "ratio_low": low, "ratio_high": high,
                         "ratio_ci_method": "normal on log scale from the two campaigns' 95% CIs",
                         "agree": (a["verdict"] == b["verdict"]) if testable else None})
    return pl.DataFrame(rows, schema=empty_reproducibility().schema) if rows else empty_reproducibility()


def _comparison_pairs(comparisons: pl.DataFrame, log_replicates: dict[str, np.ndarray]) -> pl.DataFrame:
    """Each cell comparison measured in two campaigns: both ratios, and their ratio with a bootstrap CI
    (the campaigns' replicates are independent, so their difference on the log scale is resampled as is)."""
    alpha = (1 - CONFIDENCE) / 2
    rows = []
    keyed = comparisons.with_columns(
        pl.concat_str(["metric", "cell_id_a", "cell_id_b"], separator=":").alias("_key"))
    for (key,), group in keyed.sort("_key", "campaign_id").group_by(["_key"], maintain_order=True):
        for a, b in combinations(group.iter_rows(named=True), 2):
            ra, rb = log_replicates.get(a["comparison_id"]), log_replicates.get(b["comparison_id"])
            low = high = math.nan
            if ra is not None and rb is not None:
                low, high = np.exp(np.quantile(rb - ra, [alpha, 1 - alpha]))
            label = (f"{a['metric']} {a['model']} {a['size']} {a['phase']} {a['framework_a']}/{a['mode_a']} vs "
                     f"{a['framework_b']}/{a['mode_b']}")
            excl_a, excl_b = a["ci_excludes_1"], b["ci_excludes_1"]
            agree = None
            if excl_a is not None and excl_b is not None:
                side_a = 0 if not excl_a else (1 if a["ratio_low"] > 1 else -1)
                side_b = 0 if not excl_b else (1 if b["ratio_low"] > 1 else -1)
                agree = side_a == side_b
            rows.append({"kind": "comparison", "id": key, "label": label,
                         "campaign_a": a["campaign_id"], "campaign_b": b["campaign_id"],
                         "effect_a": a["ratio"], "low_a": a["ratio_low"], "high_a": a["ratio_high"],
                         "verdict_a": _side(a), "effect_b": b["ratio"], "low_b": b["ratio_low"],
                         "high_b": b["ratio_high"], "verdict_b": _side(b), "ratio_b_over_a": b["ratio"] / a["ratio"],
                         "ratio_low": float(low), "ratio_high": float(high),
                         "ratio_ci_method": "percentile of the campaigns' independent bootstrap replicates",
                         "agree": agree})
    return pl.DataFrame(rows, schema=empty_reproducibility().schema) if rows else empty_reproducibility()


def _side(row: dict) -> str:
    if row["ci_excludes_1"] is None:
        return "no CI"
    if not row["ci_excludes_1"]:
        return "CI includes 1"
    return "A higher" if row["ratio_low"] > 1 else "A lower"


def with_campaign_verdicts(claims_table: pl.DataFrame, campaign_claims: pl.DataFrame) -> pl.DataFrame:
    """Claims rows (per host and pooled) whose campaigns disagree become `not reproducible`.

    A row's campaigns are the campaigns of its host (all of them for the pooled row); only their
    testable verdicts count, and at least two must exist. The reason lists every campaign's effect.
    """
    if campaign_claims.height == 0:
        return claims_table
    rows = []
    for row in claims_table.iter_rows(named=True):
        mine = campaign_claims.filter((pl.col("claim_id") == row["claim_id"]) & (pl.col("verdict") != UNTESTABLE))
        if row["system_id"] != POOLED:
            mine = mine.filter(pl.col("system_id") == row["system_id"])
        verdicts = set(mine.get_column("verdict").to_list())
        if mine.height >= 2 and len(verdicts) > 1:
            each = "; ".join(f"{r['campaign_id']}: {r['verdict']} {r['effect']:.3f} "
                             f"[{r['effect_low']:.3f}, {r['effect_high']:.3f}]"
                             for r in mine.sort("campaign_id").iter_rows(named=True))
            row = {**row, "verdict": NOT_REPRODUCIBLE,
                   "reason": f"the campaigns disagree ({each}); pooled: {row['verdict']}"
                             + (f" ({row['reason']})" if row["reason"] else "")}
        rows.append(row)
    return pl.DataFrame(rows, schema=claims_table.schema)


def variance_components(per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray]) -> pl.DataFrame:
    """Per cell: shares of the variance of log step time from campaign, process and step (nested ANOVA).

    Method-of-moments estimates for a nested design, on log(ms) of each usable run's steady-state
    steps: step variance = mean within-run variance; process variance = variance of run means
    within campaigns minus step variance / steps per run; campaign variance = variance of campaign
    means minus process variance / runs per campaign minus step variance / (runs x steps). Negative
    estimates are set to 0 (the usual truncation); unbalanced cells use mean counts.
    """
    rows = []
    usable = per_run.filter(pl.col("step_ms").is_not_null())
    for (cid,), group in usable.sort("cell_id", "campaign_id", "run_id").group_by(["cell_id"], maintain_order=True):
        first = group.row(0, named=True)
        campaigns = []
        for (_,), runs in group.group_by(["campaign_id"], maintain_order=True):
            series = [np.log(steps_by_run[r]) for r in runs.get_column("run_id").to_list()
                      if r in steps_by_run and len(steps_by_run[r]) >= 2]
            if series:
                campaigns.append(series)
        n_runs = sum(len(c) for c in campaigns)
        if n_runs < 2:
            continue
        step_var = float(np.mean([np.var(s, ddof=1) for c in campaigns for s in c]))
        steps_per_run = float(np.mean([len(s) for c in campaigns for s in c]))
        run_means = [[float(np.mean(s)) for s in c] for c in campaigns]
        within = [np.var(m, ddof=1) for m in run_means if len(m) >= 2]
        process_var = max(0.0, float(np.mean(within)) - step_var / steps_per_run) if within else math.nan
        campaign_var = math.nan
        if len(campaigns) >= 2 and math.isfinite(process_var):
            runs_per_campaign = float(np.mean([len(m) for m in run_means]))
            between = float(np.var([np.mean(m) for m in run_means], ddof=1))
            campaign_var = max(0.0, between - process_var / runs_per_campaign
                               - step_var / (runs_per_campaign * steps_per_run))
        total = sum(v for v in (campaign_var, process_var, step_var) if math.isfinite(v))

        rows.append({"cell_id": cid, **{f: first[f] for f in CELL_FIELDS},
                     "n_campaigns": len(campaigns), "n_runs": n_runs, "steps_per_run": steps_per_run,
                     "campaign_var": _known(campaign_var), "process_var": _known(process_var), "step_var": step_var,
                     "campaign_share": _share(campaign_var, total), "process_share": _share(process_var, total),
                     "step_share": _share(step_var, total)})
    schema = {"campaign_var": pl.Float64, "process_var": pl.Float64, "campaign_share": pl.Float64,
              "process_share": pl.Float64}
    return pl.DataFrame(rows, schema_overrides=schema, infer_schema_length=None)


def _known(value: float) -> float | None:
    """Null, not NaN, for a variance component the design cannot estimate."""
    return value if math.isfinite(value) else None


def _share(value: float, total: float) -> float | None:
    return value / total if math.isfinite(value) and total > 0 else None
