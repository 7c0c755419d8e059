"""The paper's "Does it hold on your machine?" tables and numbers.

Per claim, the predictive verdict over hardware classes and each class's pooled effect with the interval its
verdict rests on (the prediction interval for a new campaign from k = 3, claim_predictions), the
leave-one-out coverage of those intervals (loo_coverage), the A/A false-positive rate (aa_checks) and the
between-campaign share of the log ratio's variance with the campaigns a class needs (ratio_variance).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData
from fwbench.report import fmt
from fwbench.stats.aa_checks import ALL_CAMPAIGNS
from fwbench.stats.pooling import ALL_CLASSES
from fwbench.stats.protocol_sizing import TARGET_HALF_WIDTH

NEEDED = ["claim_id", "hardware_class", "k", "effect", "effect_low", "effect_high", "pi_low", "pi_high", "basis",
          "verdict", "predictive_verdict"]


def _interval(r: dict[str, Any]) -> str:
    if r["pi_low"] is not None:
        return f"{fmt.num(r['effect'])} PI [{fmt.num(r['pi_low'])}, {fmt.num(r['pi_high'])}]"
    return fmt.ci(r["effect"], r["effect_low"], r["effect_high"])


def _grouped(data: FigureData) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(all-classes row, class rows) per claim, in the table's claim order."""
    if F.require(data.claim_predictions, NEEDED, "claim_predictions"):
        return []
    out = []
    for (_,), group in data.claim_predictions.group_by(["claim_id"], maintain_order=True):
        rows = group.to_dicts()
        overall = next(r for r in rows if r["hardware_class"] == ALL_CLASSES)
        out.append((overall, sorted((r for r in rows if r["hardware_class"] != ALL_CLASSES),
                                    key=lambda r: r["hardware_class"])))
    return out


def predictions_table(data: FigureData) -> dict[str, Any]:
    rows = [[overall["claim_id"], overall["predictive_verdict"],
             "; ".join(f"{r['hardware_class']} (k = {r['k']}): {_interval(r)} {r['verdict']}" for r in classes),
             f"{_interval(overall)} (k = {overall['k']})", fmt.num(overall.get("p_between"))]
            for overall, classes in _grouped(data)]
    return fmt.table(["claim", "predictive verdict", "per hardware class", "all campaigns", "p (class)"], rows,
                     "no claim_predictions rows: fewer than two campaigns" if not rows else
                     "PI = 95% prediction interval for a new campaign (k >= 3); otherwise the pooled 95% CI (k = 2) or "
                     "the campaign's own CI (k = 1); p (class) = subgroup test of the classes")


def _rate(r: dict[str, Any]) -> str:
    return (f"{r['n_false_positive']} of {r['n_cells']} cells at {r['runs_per_half']} runs a half "
            f"({fmt.pct(r['false_positive_rate'], 1)}, Wilson 95% CI {fmt.pct(r['rate_low'], 1)}–"
            f"{fmt.pct(r['rate_high'], 1)})")


AA_NEEDED = ["hardware_class", "campaign_id", "runs_per_half", "n_cells", "n_false_positive", "false_positive_rate",
             "rate_low", "rate_high"]


def aa_table(data: FigureData) -> dict[str, Any]:
    """The A/A false-positive rate per campaign and per class, per runs a half."""
    rows = [] if F.require(data.aa_checks, AA_NEEDED, "aa_checks") else [
        [r["hardware_class"], r["campaign_id"], str(r["runs_per_half"]), str(r["n_cells"]),
         str(r["n_false_positive"]),
         f"{fmt.pct(r['false_positive_rate'], 1)} [{fmt.pct(r['rate_low'], 1)}, {fmt.pct(r['rate_high'], 1)}]",
         fmt.num(r.get("median_abs_log_ratio"))]
        for r in data.aa_checks.sort(pl.col("hardware_class") == ALL_CLASSES, "hardware_class",
                                     pl.col("campaign_id") == ALL_CAMPAIGNS, "campaign_id", "runs_per_half")
        .iter_rows(named=True)]
    return fmt.table(["class", "campaign", "runs a half", "cells", "CI excludes 1", "rate [Wilson 95% CI]",
                      "median |log A/A|"], rows,
                     "no aa_checks rows: no cell has 2+ usable runs in both halves" if not rows else
                     "A/A: each cell's even repetitions against its odd ones, the comparisons' hierarchical bootstrap; "
                     "nominal rate 5%; runs a half = the smaller half")


def aa_numbers(data: FigureData) -> dict[str, Any]:
    if F.require(data.aa_checks, AA_NEEDED, "aa_checks"):
        return {"aa_sentence": "No A/A check could be made (no cell has 2+ usable runs in both halves)."}
    overall = data.aa_checks.filter((pl.col("campaign_id") == ALL_CAMPAIGNS)
                                    & (pl.col("hardware_class") == ALL_CLASSES)).sort("runs_per_half")
    return {"aa_sentence": ("Over every campaign, the halves of one cell, which measure the same thing, were called "
                            "different by the comparisons' 95% CI in " + "; in ".join(_rate(r) for r in
                                                                                   overall.iter_rows(named=True))
                            + ".")}


def variance_numbers(data: FigureData) -> dict[str, Any]:
    """How much of the torch/TF log ratio's variance lies between campaigns, within a class and across all,
    and how many campaigns a class needs for a +-5% prediction interval."""
    need = ["framework_a", "framework_b", "hardware_class", "between_share", "campaigns_for_5pct",
            "pi_half_width_limit"]
    none = {"variance_sentence": "No torch/TensorFlow comparison was measured with a CI in two or more campaigns."}
    if F.require(data.ratio_variance, need, "ratio_variance"):
        return none
    frame = data.ratio_variance.filter((pl.col("framework_a") == "torch") & (pl.col("framework_b") == "tensorflow"))
    within = frame.filter(pl.col("hardware_class") != ALL_CLASSES)
    across = frame.filter(pl.col("hardware_class") == ALL_CLASSES)
    if across.height == 0:
        return none
    text = (f"Of the variance of the torch/TensorFlow log step-time ratio, the share between campaigns has median "
            f"{fmt.pct(across['between_share'].median())} over all campaigns ({across.height} comparisons)")
    if within.height:
        reached = within.filter(pl.col("campaigns_for_5pct").is_not_null())
        never = within.filter(pl.col("campaigns_for_5pct").is_null())
        target = fmt.pct(TARGET_HALF_WIDTH)
        text += (f" and {fmt.pct(within['between_share'].median())} within one hardware class ({within.height} "
                 f"comparisons in classes with 2+ campaigns). Within a class, ")
        text += (f"a ±{target} prediction interval for a new campaign needs a median of "
                 f"{fmt.num(reached['campaigns_for_5pct'].median())} campaigns where it can be reached "
                 f"({reached.height} comparisons)" if reached.height else
                 f"no number of campaigns gives any of them a ±{target} prediction interval")
        if never.height:
            text += (f"; for {never.height} the between-campaign spread alone keeps it wider, at ±"
                     f"{fmt.pct(never['pi_half_width_limit'].median())} (median) however many campaigns")
    return {"variance_sentence": text + "."}


def abstract_sentence(overall_rows: list[dict[str, Any]]) -> str:
    """The predictive verdicts in one sentence, for the abstract."""
    if not overall_rows:
        return ""
    by_verdict: dict[str, list[str]] = {}
    for o in overall_rows:
        by_verdict.setdefault(o["predictive_verdict"], []).append(o["claim_id"])
    return ("Pooled per hardware class with a random-effects model, for a new machine: "
            + "; ".join(f"{v} {', '.join(ids)}" for v, ids in sorted(by_verdict.items())) + ".")


def prediction_numbers(data: FigureData) -> dict[str, Any]:
    grouped = _grouped(data)
    sentences = [f"{o['claim_id']}: {o['predictive_verdict']} ({o.get('summary') or ''})." for o, _ in grouped]
    loo = data.loo_coverage
    checks = 0 if F.require(loo, ["covered"], "loo_coverage") else loo.height
    covered = int(loo.get_column("covered").sum()) if checks else 0
    counts = (pl.DataFrame({"v": [o["predictive_verdict"] for o, _ in grouped]}).group_by("v").len().sort("v")
              .iter_rows() if grouped else [])
    return {"sentences": sentences, "n_claims": str(len(grouped)),
            "abstract_sentence": abstract_sentence([o for o, _ in grouped]), **aa_numbers(data),
            **variance_numbers(data),
            "verdicts": ", ".join(f"{v} {n}" for v, n in counts) or "none",
            "loo_checks": str(checks), "loo_covered": str(covered),
            "loo_share": fmt.pct(covered / checks) if checks else "–"}
