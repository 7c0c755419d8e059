"""The `best-of` contrast: each framework in its fastest mode per cell, chosen without peeking.

Choosing each framework's fastest mode on the same runs that then measure the effect favours
whichever side had lucky runs (a winner's curse). So the runs of every cell are split in two
halves before anything is looked at: within each system and cell, in (campaign, repetition, run id)
order, the 1st, 3rd, 5th ... run go to the *evaluation* half and the 2nd, 4th ... to the
*selection* half. Per scope and workload, each framework's mode with the lowest median step time
on the selection half is chosen (candidates: constants.BEST_OF_MODES: torch eager/compile,
TensorFlow function/XLA; TF eager never stands for TensorFlow); the effect is then computed from the
evaluation half only, by the ordinary comparisons (fwbench.stats.comparisons.compare). The mode is
chosen by step time for every metric: a memory claim under best-of compares the modes a user
optimising for speed would run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fwbench import constants as C
from fwbench.stats.comparisons import Comparisons, compare
from fwbench.stats.metrics import KEY_FIELDS, in_scope, scopes, with_cell_defaults

#: Fewest selection-half runs with a steady state for a mode to be a candidate.
MIN_SELECTION_RUNS = 2
EVALUATION, SELECTION = "evaluation", "selection"


@dataclass(frozen=True)
class BestOf:
    """The chosen mode per (scope, workload, framework) and the evaluation half's comparisons."""

    chosen: dict[tuple[str, tuple, str], str]
    comps: Comparisons

    def is_chosen(self, scope: str, row: dict, side: str) -> bool:
        """Whether a comparison row's side ('a' or 'b') runs its framework's chosen mode."""
        key = (scope, tuple(row[k] for k in KEY_FIELDS), row[f"framework_{side}"])
        return self.chosen.get(key) == row[f"mode_{side}"]

    def describe(self, scope: str) -> str:
        """The chosen modes of a scope, per workload: what a reader needs to check the choice."""
        parts: dict[tuple, list[str]] = {}
        for (s, key, framework), mode in sorted(self.chosen.items()):
            if s == scope:
                parts.setdefault(key, []).append(f"{framework} {mode}")
        return "; ".join(f"{key[0]}-{key[1]} {key[2]}: {', '.join(modes)}" for key, modes in parts.items())


def halves(per_run: pl.DataFrame) -> pl.DataFrame:
    """per_run with a `half` column (evaluation | selection), alternating within system and cell."""
    order = [c for c in ("system_id", "cell_id", "campaign_id", "repetition", "run_id") if c in per_run.columns]
    return (per_run.sort(order)
            .with_columns(pl.int_range(pl.len()).over("system_id", "cell_id").alias("_position"))
            .with_columns(pl.when(pl.col("_position") % 2 == 0).then(pl.lit(EVALUATION)).otherwise(pl.lit(SELECTION))
                          .alias("half"))
            .drop("_position"))


def choose_modes(selection: pl.DataFrame) -> dict[tuple[str, tuple, str], str]:
    """Per scope, workload and framework: the candidate mode with the lowest median step time."""
    candidates = pl.any_horizontal([(pl.col("framework") == f) & pl.col("mode").is_in(list(modes))
                                    for f, modes in C.BEST_OF_MODES.items()])
    native = (pl.col("runtime") == C.NATIVE_RUNTIME) & (pl.col("backend") == C.NATIVE_BACKEND)
    usable = with_cell_defaults(selection).filter(candidates & native & pl.col("step_ms").is_not_null())
    chosen: dict[tuple[str, tuple, str], str] = {}
    for scope in scopes(selection):
        medians = (in_scope(usable, scope).group_by([*KEY_FIELDS, "framework", "mode"])
                   .agg(pl.col("step_ms").median().alias("median_ms"), pl.len().alias("n"))
                   .filter(pl.col("n") >= MIN_SELECTION_RUNS)
                   .sort([*KEY_FIELDS, "framework", "median_ms", "mode"]))
        for row in medians.iter_rows(named=True):
            key = (scope, tuple(row[k] for k in KEY_FIELDS), row["framework"])
            chosen.setdefault(key, row["mode"])  # sorted by median: the first is the fastest
    return chosen


def best_of(per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray], *, seed: int, n_resamples: int,
            margin: float) -> BestOf:
    """Choose on the selection half, compare on the evaluation half."""
    split = halves(with_cell_defaults(per_run).filter(pl.col("framework").is_in(C.CLAIMS_FRAMEWORKS)))
    evaluation = split.filter(pl.col("half") == EVALUATION).drop("half")
    comps = compare(evaluation, steps_by_run, margin=margin, seed=seed, n_resamples=n_resamples)
    return BestOf(choose_modes(split.filter(pl.col("half") == SELECTION)), comps)
