"""The paper's "Does it hold on your machine?" table and numbers, from claim_predictions and loo_coverage.

Per claim, the predictive verdict over hardware classes and each class's pooled effect with the interval its
verdict rests on (the prediction interval for a new campaign from k = 3), and the leave-one-out coverage of
those intervals on the shipped campaigns.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData
from fwbench.report import fmt
from fwbench.stats.pooling import ALL_CLASSES

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


def prediction_numbers(data: FigureData) -> dict[str, Any]:
    grouped = _grouped(data)
    sentences = [f"{o['claim_id']}: {o['predictive_verdict']} ({o.get('summary') or ''})." for o, _ in grouped]
    loo = data.loo_coverage
    checks = 0 if F.require(loo, ["covered"], "loo_coverage") else loo.height
    covered = int(loo.get_column("covered").sum()) if checks else 0
    counts = (pl.DataFrame({"v": [o["predictive_verdict"] for o, _ in grouped]}).group_by("v").len().sort("v")
              .iter_rows() if grouped else [])
    return {"sentences": sentences, "n_claims": str(len(grouped)),
            "verdicts": ", ".join(f"{v} {n}" for v, n in counts) or "none",
            "loo_checks": str(checks), "loo_covered": str(covered),
            "loo_share": fmt.pct(covered / checks) if checks else "–"}
