"""Framework or layer? (fwbench.stats.layer_ablation) on the synthetic ablation runs of helpers.figures_data:
TF's fused_bn variant is planted 1.4x faster than torch, TF's standard model slower (A) or faster (B)."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from fwbench import constants as C
from fwbench.stats.claims import load_claims
from fwbench.stats.layer_ablation import ablation_claims, variants_of
from helpers.figures_data import FUSED_SPEEDUP

pytestmark = pytest.mark.xdist_group("figures")


def _table(db) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql("select * from layer_ablation where system_id = 'pooled'").pl()


def _row(table: pl.DataFrame, claim: str, variant: str) -> dict:
    rows = table.filter((pl.col("claim_id") == claim) & (pl.col("model") == "cnn") & (pl.col("variant") == variant))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_a_planted_layer_effect_flips_the_verdict_and_is_reported_as_not_surviving(figures_db) -> None:
    table = _table(figures_db("A"))  # A: torch 20 ms, TF standard 26 ms, TF fused_bn 20/1.4 ms
    standard, fused = _row(table, "C01", C.STANDARD_VARIANT), _row(table, "C01", "fused_bn")
    assert standard["verdict"] == "contradicted" and standard["effect_high"] < 1  # C01: TF trains CNNs faster
    assert fused["effect_low"] < FUSED_SPEEDUP < fused["effect_high"]
    assert fused["verdict"] == "supported"
    assert fused["baseline_verdict"] == "contradicted" and fused["survives"] is False
    channels_last = _row(table, "C01", "channels_last")  # torch's variant, planted as fast as standard
    assert channels_last["verdict"] == channels_last["baseline_verdict"] == "contradicted"
    assert channels_last["survives"] is True


def test_when_the_standard_model_already_agrees_the_verdict_survives(figures_db) -> None:
    table = _table(figures_db("B"))  # B: TF standard 22 ms vs torch 31 ms, fused_bn 31/1.4 ms: both TF faster
    fused = _row(table, "C01", "fused_bn")
    assert fused["verdict"] == fused["baseline_verdict"] == "supported" and fused["survives"] is True


def test_only_framework_claims_on_cnn_or_lstm_are_ablated_and_each_variant_once() -> None:
    narrowed = list(ablation_claims(load_claims()))
    ids = {claim.id for claim, _, _ in narrowed}
    assert {"C01", "C03"} <= ids
    assert not ids & {"C02", "C08", "C11b", "C12b", "C14"}  # BERT only, accuracy track, mode claims
    for claim, model, variant in narrowed:
        assert claim.filter["model"] == (model,) and claim.filter["variant"] == (variant,)
    c03 = [v for claim, m, v in narrowed if claim.id == "C03"]
    assert c03 == variants_of(next(c for c, _, _ in narrowed if c.id == "C03"), "lstm")
    assert c03 == [C.STANDARD_VARIANT, "no_onednn", C.ISA_AVX2, C.ONEDNN_ON, "hoisted_input", "unroll"]


def test_without_a_variant_filter_a_claim_reads_standard_models_only(figures_db) -> None:
    with duckdb.connect(str(figures_db("A")), read_only=True) as con:
        claims = con.execute("select cells from claims where claim_id = 'C01' and system_id = 'pooled'").fetchone()[0]
        query = "select distinct cell_id from runs where variant != 'standard'"
        variant_cells = {r[0] for r in con.execute(query).fetchall()}
    assert variant_cells and not any(cid in claims for cid in variant_cells)


def test_a_variant_of_one_framework_is_paired_with_the_other_frameworks_standard_model() -> None:
    from fwbench.stats.comparisons import comparison_pairs
    from fwbench.synthetic import base_cell

    cells = [base_cell(framework="torch", mode="eager", variant=v) for v in ("standard", "channels_last", "no_onednn")]
    cells += [base_cell(framework="tensorflow", mode="function", variant=v) for v in ("standard", "fused_bn",
                                                                                        "no_onednn")]
    frame = pl.DataFrame([{"cell_id": c.cell_id, **c.to_dict()} for c in cells])
    pairs = {(a["variant"], b["variant"], v) for a, b, v in comparison_pairs(frame)}
    assert pairs == {("standard", "standard", "standard"), ("channels_last", "standard", "channels_last"),
                     ("standard", "fused_bn", "fused_bn"), ("no_onednn", "no_onednn", "no_onednn")}


def test_standard_cells_keep_the_ids_they_had_before_variants() -> None:
    from fwbench.ids import short_hash
    from fwbench.synthetic import base_cell

    cell = base_cell()
    legacy = {k: v for k, v in cell.to_dict().items() if k not in ("variant", "runtime", "backend")}
    assert cell.cell_id == short_hash(legacy)
    assert base_cell(variant="channels_last").cell_id != cell.cell_id
