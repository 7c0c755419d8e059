"""Campaigns as a level of the statistics: does an effect hold on another day, on another machine?

A shared host moves by 2-3.5x between days, and not by the same factor for every framework, so a
verdict from one campaign says little on its own. With 2-4 campaigns a bootstrap over campaigns
gives no real interval, so each campaign is judged on its own (the same comparisons and claim
rules, fwbench.stats.comparisons and .claims, with the campaign in place of the host), on the
cells that another campaign measured too, and the campaigns must agree. Agreement is judged pair by
pair on the cells *both* campaigns of the pair measured (a default-grid campaign meets an ablation
campaign on their common CNN cells only): a claim with a pair of campaigns whose testable verdicts
differ there is `not reproducible`, whatever the pooled data say, and the reason shows both effects.
From
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
from fwbench.stats.comparisons import Comparisons, compare
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
    another campaign (shared_cells), and each pair of campaigns on the cells both measured (the
    reproducibility table); empty tables with fewer than two campaigns."""
    per_run = evidence.runs
    if len(campaigns_in(per_run)) < 2:
        return CampaignAnalysis(pl.DataFrame(), pl.DataFrame(), empty_reproducibility())
    system_of = dict(per_run.select("campaign_id", "system_id").unique().iter_rows())
    if evidence.accuracy_runs.height and "campaign_id" in evidence.accuracy_runs.columns:
        system_of |= dict(evidence.accuracy_runs.select("campaign_id", "system_id").unique().iter_rows())
    verdicts, comps = _judge_campaigns(claims, evidence, shared_cells(per_run), system_of)
    comparisons = comps.table.filter(pl.col("system_id") != POOLED).rename({"system_id": "campaign_id"})
    repro = pl.concat([_claim_pairs(claims, evidence, system_of), _comparison_pairs(comparisons, comps.log_replicates,
                                                                                    _cells_by_campaign(per_run))],
                      how="diagonal_relaxed") if verdicts.height else empty_reproducibility()
    return CampaignAnalysis(verdicts, comparisons, repro.select(empty_reproducibility().columns))


def _judge_campaigns(claims: list[Claim], evidence: Evidence, runs: pl.DataFrame,
                     system_of: dict[str, str]) -> tuple[pl.DataFrame, Comparisons]:
    """Claim verdicts of each campaign in `runs` (the campaign in place of the host), and its comparisons."""
    by_campaign = runs.with_columns(pl.col("campaign_id").alias("system_id"))
    comps = compare(by_campaign, evidence.steps_by_run, margin=evidence.margin, seed=evidence.seed,
                    n_resamples=evidence.n_resamples)
    accuracy = evidence.accuracy_runs
    if accuracy.height and "campaign_id" in accuracy.columns:
        accuracy = (accuracy.filter(pl.col("campaign_id").is_in(campaigns_in(runs)))
                    .with_columns(pl.col("campaign_id").alias("system_id")))
    campaign_evidence = replace(evidence, runs=by_campaign, comps=comps, accuracy_runs=accuracy)
    verdicts = (evaluate_claims(claims, campaign_evidence)
                .filter(pl.col("system_id") != POOLED).rename({"system_id": "campaign_id"}))
    verdicts = verdicts.with_columns(pl.col("campaign_id").replace_strict(system_of).alias("system_id"))
    return verdicts, comps


def _cells_by_campaign(per_run: pl.DataFrame) -> dict[str, frozenset[str]]:
    grouped = per_run.group_by("campaign_id").agg(pl.col("cell_id").unique())
    return {campaign: frozenset(cells) for campaign, cells in grouped.iter_rows()}


def common_ground(per_run: pl.DataFrame) -> dict[frozenset[str], list[tuple[str, str]]]:
    """Pairs of campaigns (earlier, later) grouped by the cells both measured; pairs with none are left out."""
    cells = _cells_by_campaign(per_run)
    ground: dict[frozenset[str], list[tuple[str, str]]] = {}
    for a, b in combinations(sorted(cells), 2):
        common = cells[a] & cells[b]
        if common:
            ground.setdefault(common, []).append((a, b))
    return ground


def empty_reproducibility() -> pl.DataFrame:
    s, f, b = pl.String, pl.Float64, pl.Boolean
    return pl.DataFrame(schema={
        "kind": s, "id": s, "label": s, "campaign_a": s, "campaign_b": s, "n_common_cells": pl.Int64,
        "effect_a": f, "low_a": f, "high_a": f, "verdict_a": s, "effect_b": f, "low_b": f, "high_b": f,
        "verdict_b": s, "ratio_b_over_a": f, "ratio_low": f, "ratio_high": f, "ratio_ci_method": s, "agree": b,
    })


def _log_se(low: float, high: float) -> float:
    """Standard error of log(effect) read back from a 95% interval (normal approximation)."""
    return (math.log(high) - math.log(low)) / (2 * Z) if low > 0 and high > 0 else math.nan


def _claim_pairs(claims: list[Claim], evidence: Evidence, system_of: dict[str, str]) -> pl.DataFrame:
    """Each claim, each pair of campaigns judged on the cells both measured: both effects and verdicts,
    and the ratio of the effects. Pairs on the same common cells are judged in one pass."""
    rows = []
    for common, pairs in common_ground(evidence.runs).items():
        members = sorted({c for pair in pairs for c in pair})
        runs = evidence.runs.filter(pl.col("campaign_id").is_in(members) & pl.col("cell_id").is_in(sorted(common)))
        verdicts, _ = _judge_campaigns(claims, evidence, runs, system_of)
        by_key = {(r["claim_id"], r["campaign_id"]): r for r in verdicts.iter_rows(named=True)}
        for claim in claims:
            for a, b in pairs:
                if (claim.id, a) in by_key and (claim.id, b) in by_key:
                    rows.append(_claim_pair(by_key[claim.id, a], by_key[claim.id, b], len(common)))
    rows.sort(key=lambda r: (r["id"], r["campaign_a"], r["campaign_b"]))
    return pl.DataFrame(rows, schema=empty_reproducibility().schema) if rows else empty_reproducibility()


def _claim_pair(a: dict, b: dict, n_common: int) -> dict[str, object]:
    """One claim in two campaigns side by side, with the ratio of their effects and its CI."""
    ratio = low = high = math.nan
    if all(math.isfinite(x) and x > 0 for x in (a["effect"], b["effect"])):
        ratio = b["effect"] / a["effect"]
        se = math.hypot(_log_se(a["effect_low"], a["effect_high"]), _log_se(b["effect_low"], b["effect_high"]))
        low, high = ratio * math.exp(-Z * se), ratio * math.exp(Z * se)
    testable = UNTESTABLE not in (a["verdict"], b["verdict"])
    return {"kind": "claim", "id": a["claim_id"], "label": a["claim"],
            "campaign_a": a["campaign_id"], "campaign_b": b["campaign_id"], "n_common_cells": n_common,
            "effect_a": a["effect"], "low_a": a["effect_low"], "high_a": a["effect_high"],
            "verdict_a": a["verdict"], "effect_b": b["effect"], "low_b": b["effect_low"],
            "high_b": b["effect_high"], "verdict_b": b["verdict"], "ratio_b_over_a": ratio,
            "ratio_low": low, "ratio_high": high,
            "ratio_ci_method": "normal on log scale from the two campaigns' 95% CIs",
            "agree": (a["verdict"] == b["verdict"]) if testable else None}


def _comparison_pairs(comparisons: pl.DataFrame, log_replicates: dict[str, np.ndarray],
                      cells: dict[str, frozenset[str]]) -> pl.DataFrame:
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
                         "n_common_cells": len(cells[a["campaign_id"]] & cells[b["campaign_id"]]),
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


def with_campaign_verdicts(claims_table: pl.DataFrame, campaign_claims: pl.DataFrame,
                           reproducibility: pl.DataFrame) -> pl.DataFrame:
    """Claims rows (per host and pooled) with a pair of campaigns that disagree become `not reproducible`.

    A row's pairs are the claim pairs of the reproducibility table (each judged on the cells both
    campaigns measured) whose two campaigns ran on the row's host (any pair for the pooled row); only
    pairs where both verdicts are testable count. The reason lists every disagreeing pair's effects.
    """
    pairs = reproducibility.filter((pl.col("kind") == "claim") & (pl.col("agree") == False))  # noqa: E712
    if pairs.height == 0:
        return claims_table
    system_of = dict(campaign_claims.select("campaign_id", "system_id").unique().iter_rows())
    rows = []
    for row in claims_table.iter_rows(named=True):
        mine = pairs.filter(pl.col("id") == row["claim_id"])
        if row["system_id"] != POOLED:
            mine = mine.filter(pl.col("campaign_a").replace_strict(system_of, default=None) == row["system_id"],
                               pl.col("campaign_b").replace_strict(system_of, default=None) == row["system_id"])
        if mine.height:
            each = "; ".join(f"{r['campaign_a']}: {r['verdict_a']} {r['effect_a']:.3f} [{r['low_a']:.3f}, "
                             f"{r['high_a']:.3f}] vs {r['campaign_b']}: {r['verdict_b']} {r['effect_b']:.3f} "
                             f"[{r['low_b']:.3f}, {r['high_b']:.3f}] on {r['n_common_cells']} common cells"
                             for r in mine.sort("campaign_a", "campaign_b").iter_rows(named=True))
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
