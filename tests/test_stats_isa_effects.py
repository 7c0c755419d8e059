"""Is it the instruction set? (fwbench.stats.isa_effects, fwbench.report.isa) on planted campaigns.

Campaign X on an AMX host: torch/TF 0.8 natively, 1.25 with both frameworks capped at AVX2. Campaign Y on an
AVX2 host: 1.25 natively, 1.5 with TF's oneDNN forced on. The table must keep each campaign apart, pair each
variant with its own cells, and the sentence must set X's capped ratio beside Y's native one.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from helpers.planted import planted_records, records_to_frames

from fwbench import constants as C
from fwbench.figures.data import FigureData
from fwbench.report import fmt
from fwbench.report.isa import isa_numbers, isa_table
from fwbench.stats.isa_effects import isa_effects
from fwbench.stats.metrics import run_table, steady_state_table, steady_steps
from fwbench.synthetic import base_cell, fake_system

TORCH = base_cell(size="small")
TF = replace(TORCH, framework="tensorflow", mode="function")
LSTM_TORCH = replace(TORCH, model="lstm", seq_len=32)
LSTM_TF = replace(TF, model="lstm", seq_len=32)


def _system(name: str, flags: list[str]) -> dict:
    return {**fake_system(name), "host_processor_flags": flags}


def _campaign(campaign: str, system: dict, cells: dict, seed: int) -> list[dict]:
    records = planted_records(cells, reps=6, seed=seed, system=system)
    return [{**r, "campaign_id": campaign} for r in records]


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    amx = _system("amx-host", ["avx2", "fma", "avx512f", "avx512_vnni", "amx_tile"])
    avx2 = _system("avx2-host", ["avx2", "fma"])
    x = _campaign("X", amx, {TORCH: 20.0, TF: 25.0, replace(TORCH, variant=C.ISA_AVX2): 30.0,
                             replace(TF, variant=C.ISA_AVX2): 24.0, LSTM_TORCH: 10.0, LSTM_TF: 20.0}, seed=1)
    y = _campaign("Y", avx2, {TORCH: 30.0, TF: 24.0, replace(TF, variant=C.ONEDNN_ON): 20.0}, seed=2)
    z = _campaign("Z", avx2, {TORCH: 33.0, TF: 30.0}, seed=3)  # an AVX2 campaign without variants
    frames = records_to_frames(x + y + z)
    steady = steady_state_table(frames["runs"], frames["steps"])
    per_run = run_table(frames["runs"], steady)
    return isa_effects(per_run, steady_steps(frames["steps"], steady), seed=0, n_resamples=400, margin=0.05)


def _row(table: pl.DataFrame, campaign: str, variant: str) -> dict:
    rows = table.filter((pl.col("campaign_id") == campaign) & (pl.col("variant") == variant))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_each_campaign_and_variant_is_a_row_of_its_own(table: pl.DataFrame) -> None:
    assert set(table.select("campaign_id", "variant").iter_rows()) == {
        ("X", C.STANDARD_VARIANT), ("X", C.ISA_AVX2), ("Y", C.STANDARD_VARIANT), ("Y", C.ONEDNN_ON),
        ("Z", C.STANDARD_VARIANT)}
    assert set(table["model"]) == {"cnn"}  # the LSTM was never measured under a variant
    assert _row(table, "X", C.ISA_AVX2)["hardware_class"] == "avx512_amx"
    assert _row(table, "X", C.ISA_AVX2)["system_id"] == fake_system("amx-host")["system_id"]  # host, not campaign
    assert _row(table, "Y", C.STANDARD_VARIANT)["hardware_class"] == "avx2"


@pytest.mark.parametrize(("campaign", "variant", "planted"), [
    ("X", C.STANDARD_VARIANT, 0.8), ("X", C.ISA_AVX2, 1.25), ("Y", C.STANDARD_VARIANT, 1.25),
    ("Y", C.ONEDNN_ON, 1.5), ("Z", C.STANDARD_VARIANT, 1.1)])
def test_the_ratio_of_each_row_covers_what_was_planted(table: pl.DataFrame, campaign: str, variant: str,
                                                       planted: float) -> None:
    row = _row(table, campaign, variant)
    assert row["ratio_low"] < planted < row["ratio_high"]
    assert row["n_torch"] == row["n_tensorflow"] == 6


def test_the_sentence_sets_the_capped_ratio_beside_the_other_class(table: pl.DataFrame) -> None:
    numbers = isa_numbers(FigureData(isa_effects=table))
    assert numbers["n_workloads"] == "1"
    sentence = numbers["sentences"][0]
    x, y = (sentence.index(f"campaign {c}") for c in "XY")
    assert x < y < sentence.index("Z)")  # the AMX host first, then the AVX2 one with a variant, then the others
    value = {(c, v): fmt.ci(r["ratio"], r["ratio_low"], r["ratio_high"]) for c, v, r in
             ((r["campaign_id"], r["variant"], r) for r in table.to_dicts())}
    assert "on avx512_amx (" in sentence and f"the native ratio is {value['X', C.STANDARD_VARIANT]}" in sentence
    assert f"capping it at AVX2 gives {value['X', C.ISA_AVX2]}" in sentence
    assert f"TF oneDNN forced on gives {value['Y', C.ONEDNN_ON]}" in sentence
    assert f"natively, avx2 {value['Z', C.STANDARD_VARIANT]}" in sentence
    assert len(isa_table(FigureData(isa_effects=table))["rows"]) == 5


def test_without_isa_variants_the_table_is_empty_and_the_paper_says_so() -> None:
    frames = records_to_frames(planted_records({TORCH: 20.0, TF: 25.0}, reps=4))
    steady = steady_state_table(frames["runs"], frames["steps"])
    empty = isa_effects(run_table(frames["runs"], steady), steady_steps(frames["steps"], steady), seed=0,
                        n_resamples=100, margin=0.05)
    assert empty.is_empty()
    assert "no campaign has measured" in isa_table(FigureData(isa_effects=empty))["note"]
