"""Is it the instruction set? The torch/TF training ratio per campaign, natively and with the kernels capped.

Hosts of different hardware classes disagree on the CNN and BERT training claims (issue 27). The ISA
variants separate the instruction set from the rest of the machine: on a higher-class host, `isa_avx2`
runs both frameworks' kernels as an AVX2-only CPU would and `onednn_on` TensorFlow's oneDNN where its
default is off. Each comparison here is one campaign's (the variant and the standard cell it is read
against were measured the same day), with the campaign in place of the host as in
fwbench.stats.reproducibility, so a capped ratio on one host can be set beside another class's native one.

Rows: every campaign that measured a workload some campaign ran under an ISA variant, with the ratio of each
variant it has (standard = native). Ratio = median step time torch eager / TF function (the `defaults`
contrast every framework speed claim uses): below 1, torch is faster.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fwbench import constants as C
from fwbench.harness.hardware_class import UNKNOWN
from fwbench.stats.comparisons import compare
from fwbench.stats.metrics import POOLED

#: The variants read, native first.
ISA_VARIANTS: tuple[str, ...] = (C.STANDARD_VARIANT, C.ISA_AVX2, C.ONEDNN_ON)
#: The workload fields that make two campaigns' cells the same workload.
WORKLOAD: tuple[str, ...] = ("model", "size", "phase", "batch_size", "seq_len", "device", "threads")
#: The implementations of the ratio: torch eager (A) / TF function (B), the frameworks' defaults.
SIDES: dict[str, str] = {"torch": C.DEFAULT_MODES["torch"], "tensorflow": C.DEFAULT_MODES["tensorflow"]}
COLUMNS: dict[str, type[pl.DataType] | pl.DataType] = {
    "campaign_id": pl.String, "system_id": pl.String, "hardware_class": pl.String, "model": pl.String,
    "size": pl.String, "phase": pl.String, "batch_size": pl.Int64, "seq_len": pl.Int64, "threads": pl.Int64,
    "variant": pl.String, "ratio": pl.Float64, "ratio_low": pl.Float64, "ratio_high": pl.Float64,
    "n_torch": pl.Int64, "n_tensorflow": pl.Int64, "torch_cpu_capability": pl.String, "torch_onednn_isa": pl.String,
    "tensorflow_onednn": pl.Boolean,
}


def empty_isa_effects() -> pl.DataFrame:
    return pl.DataFrame(schema=COLUMNS)


def _capped_workloads(per_run: pl.DataFrame) -> pl.DataFrame:
    """The workloads some campaign measured under an ISA variant."""
    return (per_run.filter(pl.col("variant").is_in([C.ISA_AVX2, C.ONEDNN_ON]) & (pl.col("status") == "ok"))
            .select(WORKLOAD).unique())


def _candidate_runs(per_run: pl.DataFrame) -> pl.DataFrame:
    """torch eager and TF function runs of the ISA workloads, in the variants read, with the campaign as scope."""
    sides = pl.any_horizontal([(pl.col("framework") == fw) & (pl.col("mode") == mode) for fw, mode in SIDES.items()])
    native = (pl.col("runtime") == C.NATIVE_RUNTIME) & (pl.col("backend") == C.NATIVE_BACKEND)
    runs = per_run.filter(sides & native & pl.col("variant").is_in(ISA_VARIANTS))
    return runs.join(_capped_workloads(per_run), on=list(WORKLOAD), how="semi").with_columns(
        pl.col("campaign_id").alias("system_id"))


def _reported(runs: pl.DataFrame) -> pl.DataFrame:
    """Per campaign and cell, what the frameworks said they used (the most common value of its ok runs)."""
    wanted = {"torch_cpu_capability": pl.String, "onednn_isa": pl.String, "onednn": pl.Boolean}
    runs = runs.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in wanted.items() if c not in runs.columns])
    return (runs.filter(pl.col("status") == "ok").group_by("campaign_id", "cell_id")
            .agg([pl.col(c).drop_nulls().mode().sort().first().alias(c) for c in wanted]))


def isa_effects(per_run: pl.DataFrame, steps_by_run: dict[str, np.ndarray], *, seed: int, n_resamples: int,
                margin: float) -> pl.DataFrame:
    """One row per campaign, ISA workload and variant it measured: the torch/TF step-time ratio with its 95% CI
    and what each side reported using (empty when no campaign measured an ISA variant)."""
    if "campaign_id" not in per_run.columns or "variant" not in per_run.columns:
        return empty_isa_effects()
    if "hardware_class" not in per_run.columns:  # frames built without ingest
        per_run = per_run.with_columns(pl.lit(UNKNOWN).alias("hardware_class"))
    runs = _candidate_runs(per_run)
    if runs.is_empty():
        return empty_isa_effects()
    comps = compare(runs, steps_by_run, margin=margin, seed=seed, n_resamples=n_resamples).table
    rows = comps.filter((pl.col("system_id") != POOLED) & (pl.col("metric") == "step_time")
                        & (pl.col("framework_a") == "torch") & (pl.col("framework_b") == "tensorflow"))
    if rows.is_empty():
        return empty_isa_effects()
    reported = _reported(runs)
    campaign_facts = per_run.group_by("campaign_id").agg(  # per_run: runs' system_id is still the host's
        pl.col("system_id").first().alias("_system"), pl.col("hardware_class").first())
    torch_side = reported.select("campaign_id", pl.col("cell_id").alias("cell_id_a"),
                                 "torch_cpu_capability", pl.col("onednn_isa").alias("torch_onednn_isa"))
    tf_side = reported.select("campaign_id", pl.col("cell_id").alias("cell_id_b"),
                              pl.col("onednn").alias("tensorflow_onednn"))
    table = (rows.rename({"system_id": "campaign_id"})
             .join(campaign_facts, on="campaign_id", how="left")
             .join(torch_side, on=["campaign_id", "cell_id_a"], how="left")
             .join(tf_side, on=["campaign_id", "cell_id_b"], how="left")
             .with_columns(pl.col("_system").alias("system_id"), pl.col("n_a").alias("n_torch"),
                           pl.col("n_b").alias("n_tensorflow"),
                           pl.col("variant").replace_strict({v: i for i, v in enumerate(ISA_VARIANTS)})
                           .alias("_order")))
    return (table.sort(["model", "size", "batch_size", "seq_len", "threads", "hardware_class", "campaign_id",
                        "_order"])
            .select([pl.col(c).cast(t) for c, t in COLUMNS.items()]))
