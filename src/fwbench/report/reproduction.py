"""The paper's "Does it reproduce?" section: its numbers and tables, from the campaigns in the data.

Campaigns (fwbench.campaigns) are executions of a grid on one machine; fwbench.stats judges each on
its own (campaign_claims), sets campaign pairs side by side (reproducibility) and splits each
cell's variance into campaign, process and step shares (variance). Nothing here is typed by hand:
with one campaign the section says so and shows what a single campaign can (process vs step).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from fwbench.figures import common as F
from fwbench.figures.data import FigureData
from fwbench.report import fmt
from fwbench import constants as C
from fwbench.stats.machine_flags import CANARY_TOLERANCE, STEAL_MARGIN_PCT
from fwbench.stats.protocol_sizing import CANDIDATE_REPS, TARGET_HALF_WIDTH, TARGET_STEADY_SHARE, recommend

MACHINE_TOLERANCE = f"{CANARY_TOLERANCE:.0%} in canary time or {STEAL_MARGIN_PCT:g} points in CPU steal"

#: Claims quoted first in the campaign-versus-campaign table (the framework-speed claims).
HEADLINE_CLAIMS: tuple[str, ...] = ("C01", "C02", "C03", "C04")


def campaign_rows(data: FigureData) -> pl.DataFrame:
    """One row per campaign: host, first and last run, runs, and the median canary where recorded."""
    runs = data.runs
    if F.require(runs, ["campaign_id", "system_id", "started_at", "run_id"], "runs"):
        return pl.DataFrame()
    canary = [pl.col("canary_ms").median().alias("canary_ms")] if "canary_ms" in runs.columns else []
    rows = (runs.group_by("campaign_id", "system_id")
            .agg(pl.col("started_at").min().alias("first_run"), pl.col("started_at").max().alias("last_run"),
                 pl.len().alias("runs"), *canary)
            .sort("campaign_id", "system_id"))
    planned = data.campaigns
    if F.require(planned, ["campaign_id", "system_id", "planned_speed", "partial"], "campaigns"):
        return rows.with_columns(planned_speed=pl.lit(None, pl.Int64), partial=pl.lit(None, pl.Boolean))
    per_campaign = planned.group_by("campaign_id", "system_id").agg(pl.col("planned_speed").sum(),
                                                                     pl.col("partial").any())
    return rows.join(per_campaign, on=["campaign_id", "system_id"], how="left")


def _runs_of_plan(row: dict[str, Any]) -> str:
    """'113 of 196 planned (partial)', or the bare count where the campaign's plan is not known."""
    if row.get("planned_speed") is None:
        return str(row["runs"])
    return f"{row['runs']} of {row['planned_speed']} planned" + (" (partial)" if row.get("partial") else "")


def campaigns_table(data: FigureData) -> dict[str, Any]:
    rows = campaign_rows(data)
    if rows.height == 0:
        return fmt.table(["campaign"], [], "no runs")
    out = [[r["campaign_id"], r["system_id"], f"{r['first_run']:%Y-%m-%d %H:%M}", f"{r['last_run']:%H:%M}",
            _runs_of_plan(r), fmt.num(r.get("canary_ms")) if r.get("canary_ms") is not None else "not recorded"]
           for r in rows.iter_rows(named=True)]
    return fmt.table(["campaign", "host", "first run (UTC)", "last run", "speed runs", "canary median (ms)"], out)


def reproducibility_table(data: FigureData) -> dict[str, Any]:
    """Claims judged per campaign, campaign pairs side by side; headline claims first."""
    repro = data.reproducibility
    if F.require(repro, ["kind", "id", "campaign_a", "campaign_b"], "reproducibility") or \
            repro.filter(pl.col("kind") == "claim").height == 0:
        n = campaign_rows(data).height
        return fmt.table(["claim"], [], f"{n} campaign(s) in the data: a campaign-versus-campaign table needs two")
    claims = repro.filter(pl.col("kind") == "claim").with_columns(
        head=~pl.col("id").is_in(list(HEADLINE_CLAIMS))).sort("head", "id", "campaign_a", "campaign_b")
    rows = []
    for r in claims.iter_rows(named=True):
        agree = {True: "yes", False: "no", None: "–"}[r["agree"]]
        rows.append([r["id"], f"{r['campaign_a']} vs {r['campaign_b']}",
                     f"{r['verdict_a']} {fmt.ci(r['effect_a'], r['low_a'], r['high_a'])}",
                     f"{r['verdict_b']} {fmt.ci(r['effect_b'], r['low_b'], r['high_b'])}",
                     fmt.ci(r["ratio_b_over_a"], r["ratio_low"], r["ratio_high"]), agree])
    return fmt.table(["claim", "campaigns (A vs B)", "A: verdict, effect [95% CI]", "B: verdict, effect [95% CI]",
                   "B/A [95% CI]", "same verdict"], rows)


def reproduction_numbers(data: FigureData) -> dict[str, Any]:
    """Campaign counts, how many claims hold across campaigns, and the median variance shares."""
    campaigns = campaign_rows(data)
    n = campaigns.height
    out: dict[str, Any] = {"n_campaigns": str(n), **flag_numbers(data)}
    variance = data.variance
    shares = ""
    if not F.require(variance, ["process_share", "step_share"], "variance") and variance.height:
        parts = []
        if "campaign_share" in variance.columns and variance["campaign_share"].drop_nulls().len():
            parts.append(f"campaigns {fmt.pct(variance['campaign_share'].drop_nulls().median(), 0)}")
        parts.append(f"processes {fmt.pct(variance['process_share'].drop_nulls().median(), 0)}")
        parts.append(f"steps within a process {fmt.pct(variance['step_share'].drop_nulls().median(), 0)}")
        shares = (f" Over {variance.height} cells, the median share of the variance of log step time is: "
                  + ", ".join(parts) + ".")
    repro = data.reproducibility
    pairs = repro.filter(pl.col("kind") == "claim") if "kind" in repro.columns else pl.DataFrame()
    if n < 2 or pairs.height == 0:
        out["reproduction_sentence"] = (
            f"The dataset holds {n} campaign{'s' if n != 1 else ''}, so no verdict can yet be checked against "
            f"another day; each verdict below rests on a single campaign. {out['flags_sentence']}" + shares)
        return out
    testable = pairs.filter(pl.col("agree").is_not_null())
    disagree = testable.filter(~pl.col("agree"))
    claims = data.claims
    not_repro = (claims.filter((pl.col("system_id") == F.POOLED) & (pl.col("verdict") == "not reproducible"))
                 if "verdict" in claims.columns else claims)
    out.update(n_claim_pairs=str(testable.height), n_disagree=str(disagree.height),
               n_not_reproducible=str(not_repro.height))
    out["reproduction_sentence"] = (
        f"The dataset holds {n} campaigns. Judged campaign by campaign, {testable.height - disagree.height} of "
        f"{testable.height} testable claim/campaign pairs give the same verdict; "
        f"{not_repro.height} claim{' is' if not_repro.height == 1 else 's are'} therefore not reproducible. "
        f"{out['flags_sentence']}" + shares)
    return out


def flag_numbers(data: FigureData) -> dict[str, str]:
    """How many runs the canary or steal flagged (fwbench.stats.machine_flags)."""
    flags = data.machine_flags
    if F.require(flags, ["flagged", "run_id"], "machine_flags") or flags.height == 0:
        return {"n_flagged": "0", "flags_sentence": "No run in the dataset recorded the machine's state (canary, "
                                                    "steal): they predate it."}
    flagged = flags.filter(pl.col("flagged")).height
    return {"n_flagged": str(flagged), "flags_sentence": (
        f"Of {flags.height} runs with a recorded canary and steal, {flagged} ran while the machine was off its "
        f"campaign's median by more than {MACHINE_TOLERANCE}; they are flagged in the machine_flags table, "
        f"not removed.")}


def sizing_numbers(data: FigureData) -> dict[str, str]:
    """The protocol the measured runs call for (fwbench.stats.protocol_sizing) within the time budget."""
    pick = recommend(data.protocol_sizing, C.MEASURING_BUDGET_MIN) if data.protocol_sizing.width else None
    if pick is None:
        return {"sizing_sentence": "No run in the dataset can size the protocol."}
    full = pick["repetitions_for_95pct_of_cells"]
    return {
        "warmup": str(pick["warmup"]), "measured": str(pick["measured"]), "repetitions": str(pick["repetitions"]),
        "sizing_sentence": (
            f"Sized from the {pick['n_transients']} placed transients and {pick['n_cells']} cells of these runs "
            f"(steps observed up to {pick['max_observed_steps']} per run, so later level changes cannot be seen): "
            f"{pick['warmup']} warm-up and {pick['measured']} measured steps give a steady state in "
            f"{fmt.pct(pick['steady_share'], 0)} of runs (target {fmt.pct(TARGET_STEADY_SHARE, 0)}); within "
            f"{C.MEASURING_BUDGET_MIN:g} minutes of measuring, {pick['repetitions']} repetitions per cell "
            f"(predicted {pick['minutes']:.0f} min) bring {fmt.pct(pick['cells_within_target'], 0)} of cells to a "
            f"95% CI of ±{fmt.pct(TARGET_HALF_WIDTH, 0)} or better (median ±{fmt.pct(pick['median_half_width'], 1)}); "
            + (f"all but 5% of cells would need {full}." if full else
               f"no candidate up to {max(CANDIDATE_REPS)} repetitions brings 95% of cells there."))}
