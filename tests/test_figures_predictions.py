"""The claim forest figure (fwbench.figures.predictions): each campaign and each pool of a ratio claim with 2+
campaigns, grouped by class with the all-campaign pool last; accuracy claims and single-campaign claims left out."""

from __future__ import annotations

import polars as pl

from fwbench.figures.data import FigureData
from fwbench.figures.predictions import CAMPAIGN, POOLED, claim_forest, forest_rows
from fwbench.figures.render import vega_lite_spec
from fwbench.stats.pooling import ALL_CLASSES


def _campaign(claim: str, campaign: str, cls: str, effect: float, metric: str = "step_time") -> dict:
    return {"claim_id": claim, "campaign_id": f"20261201T000000Z-{campaign:0>4}", "system_id": f"host-{cls}",
            "hardware_class": cls, "metric": metric, "effect": effect,
            "effect_low": effect * 0.9, "effect_high": effect * 1.1, "verdict": "inconclusive"}


def _pooled(claim: str, cls: str, k: int, effect: float) -> dict:
    return {"claim_id": claim, "hardware_class": cls, "k": k, "effect": effect, "effect_low": effect * 0.9,
            "effect_high": effect * 1.1, "pi_low": effect * 0.8 if k >= 3 else None,
            "pi_high": effect * 1.2 if k >= 3 else None, "verdict": "inconclusive"}


CAMPAIGNS = pl.DataFrame([_campaign("C01", "a1", "avx2", 1.2), _campaign("C01", "a2", "avx2", 1.1),
                          _campaign("C01", "b1", "avx512_vnni", 0.8), _campaign("C08", "a1", "avx2", 0.5, "accuracy"),
                          _campaign("C08", "b1", "avx512_vnni", 0.4, "accuracy"), _campaign("C02", "a1", "avx2", 1.0)])
POOLS = pl.DataFrame([_pooled("C01", "avx2", 2, 1.15), _pooled("C01", "avx512_vnni", 1, 0.8),
                      _pooled("C01", ALL_CLASSES, 3, 1.0), _pooled("C08", ALL_CLASSES, 2, 0.45),
                      _pooled("C02", ALL_CLASSES, 1, 1.0)], schema_overrides={"pi_low": pl.Float64,
                                                                            "pi_high": pl.Float64})


def test_rows_are_each_campaign_and_pool_grouped_by_class() -> None:
    rows = forest_rows(CAMPAIGNS, POOLS)
    assert set(rows["claim_id"]) == {"C01"}  # C08 is in points, C02 has one campaign
    assert rows["hardware_class"].to_list() == ["avx2", "avx2", "avx2", "avx512_vnni", "avx512_vnni", ALL_CLASSES]
    assert rows["kind"].to_list() == [CAMPAIGN, CAMPAIGN, POOLED, CAMPAIGN, POOLED, POOLED]
    assert rows.filter(pl.col("hardware_class") == ALL_CLASSES)["pi_low"].to_list() == [0.8]
    assert rows["label"][0] == "host-avx2 12-01 00a1"  # host, day and suffix of the campaign
    assert rows["order"].to_list() == list(range(rows.height))  # the plotted order, whatever the layers hold


def test_the_figure_draws_with_data_and_says_why_not_without() -> None:
    import vl_convert as vlc

    figure = claim_forest(FigureData(campaign_claims=CAMPAIGNS, claim_predictions=POOLS))
    assert figure.has_data
    svg = vlc.vegalite_to_svg(vega_lite_spec(figure.chart))  # a valid Vega-Lite spec that renders
    assert svg.lstrip().startswith("<svg") and "C01" in svg
    empty = claim_forest(FigureData())
    assert not empty.has_data and "campaign_claims" in empty.note
