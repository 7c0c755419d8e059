"""Claims: claims.yaml validates, planted datasets give the planted verdicts, gaps are explained."""

from __future__ import annotations

import copy
import re

import polars as pl
import pytest
import yaml

from fwbench.stats.analyze import analyze
from fwbench.stats.claims import CLAIMS_FILE, VERDICTS, ClaimError, load_claims, parse_claims
from fwbench.synthetic import base_cell, fake_system
from helpers.planted import framework_cells, planted_records, records_to_frames

SPEC = {
    "thresholds": {"greater": {"above": 1.0, "text": "CI above 1"},
                   "comparable": {"within": [0.9, 1.1], "text": "within +-10%"}},
    "claims": [
        {"id": "T01", "text": "TF trains CNN faster", "source": "test", "tests": "cnn train",
         "metric": "throughput", "contrast": "all-pairs", "a": {"framework": "tensorflow"}, "b": {"framework": "torch"},
         "filter": {"model": ["cnn"], "phase": ["train"]}, "threshold": "greater"},
        {"id": "T02", "text": "torch trains LSTM faster", "source": "test", "tests": "lstm train",
         "metric": "step_time", "contrast": "all-pairs", "a": {"framework": "tensorflow"}, "b": {"framework": "torch"},
         "filter": {"model": ["lstm"]}, "threshold": "greater"},
        {"id": "T03", "text": "comparable on LSTM", "source": "test", "tests": "lstm",
         "metric": "step_time", "contrast": "all-pairs", "a": {"framework": "torch"}, "b": {"framework": "tensorflow"},
         "filter": {"model": ["lstm"]}, "threshold": "comparable"},
        {"id": "T04", "text": "torch faster on CNN (wrong)", "source": "test", "tests": "cnn",
         "metric": "throughput", "contrast": "all-pairs", "a": {"framework": "torch"}, "b": {"framework": "tensorflow"},
         "filter": {"model": ["cnn"]}, "threshold": "greater"},
        {"id": "T05", "text": "BERT claim", "source": "test", "tests": "bert",
         "metric": "step_time", "contrast": "all-pairs", "a": {"framework": "torch"}, "b": {"framework": "tensorflow"},
         "filter": {"model": ["bert"]}, "threshold": "greater"},
        {"id": "T06", "text": "GPU claim", "source": "test", "tests": "cuda",
         "metric": "step_time", "contrast": "all-pairs", "a": {"framework": "torch"}, "b": {"framework": "tensorflow"},
         "filter": {"device": ["cuda"]}, "threshold": "greater"},
    ],
}


def _planted(systems: tuple[str, ...] = ("host-a",), **kw) -> dict[str, pl.DataFrame]:
    cells = framework_cells(70.0, 50.0)                                  # CNN: torch 1.4x slower
    cells |= framework_cells(40.0, 40.0, model="lstm", size="tiny", seq_len=64)  # LSTM: null
    records = []
    for i, name in enumerate(systems):
        records += planted_records(cells, reps=6, seed=31 + i, system=fake_system(name), **kw)
    return records_to_frames(records)


@pytest.fixture(scope="module")
def planted_claims() -> pl.DataFrame:
    frames = _planted(("host-a", "host-b"))
    return analyze(frames["runs"], frames["steps"], parse_claims(SPEC), n_resamples=500).claims


def _verdict(table: pl.DataFrame, cid: str, scope: str = "pooled") -> dict:
    rows = table.filter((pl.col("claim_id") == cid) & (pl.col("system_id") == scope)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_planted_verdicts(planted_claims: pl.DataFrame) -> None:
    for scope in planted_claims["system_id"].unique():
        assert _verdict(planted_claims, "T01", scope)["verdict"] == "supported"
        assert _verdict(planted_claims, "T02", scope)["verdict"] == "inconclusive"
        assert _verdict(planted_claims, "T04", scope)["verdict"] == "contradicted"
    t01 = _verdict(planted_claims, "T01")
    assert t01["effect_low"] <= 1.4 <= t01["effect_high"] and t01["n_cells"] == 1
    assert t01["threshold"].startswith("greater") and "CI above 1" in t01["threshold"]
    assert _verdict(planted_claims, "T03")["verdict"] in ("supported", "inconclusive")


def test_one_row_per_claim_and_scope(planted_claims: pl.DataFrame) -> None:
    assert planted_claims.height == len(SPEC["claims"]) * 3  # two systems + pooled
    assert set(planted_claims["verdict"]) <= set(VERDICTS)
    assert planted_claims.group_by("claim_id", "system_id").len()["len"].max() == 1


def test_not_testable_with_reason(planted_claims: pl.DataFrame) -> None:
    t05 = _verdict(planted_claims, "T05")
    assert t05["verdict"] == "not testable here" and "no comparable cells" in t05["reason"]
    t06 = _verdict(planted_claims, "T06")
    assert t06["verdict"] == "not testable here" and t06["reason"] == "needs cuda runs: none in the dataset"


def test_repository_claims_file_encodes_every_claim() -> None:
    claims = load_claims(CLAIMS_FILE)
    ids = [c.id for c in claims]
    assert [f"C{i:02d}" for i in range(1, 18)] == [i for i in ids if re.fullmatch(r"C\d\d", i)]
    assert {"C09b", "C11b", "C12b"} <= set(ids)
    for claim in claims:
        assert claim.threshold.text and claim.text and claim.source


def test_repository_claims_on_planted_data() -> None:
    """The repository's claims use the defaults contrast: torch eager vs TF function; TF eager stays out."""
    tf_function = {"framework": "tensorflow", "mode": "function"}
    cells = framework_cells(70.0, 500.0) | {base_cell(**tf_function): 50.0}  # TF eager 7x slower: ignored
    frames = records_to_frames(planted_records(cells, reps=6, seed=31, system=fake_system("host-a")))
    table = analyze(frames["runs"], frames["steps"], n_resamples=300).claims
    assert table.height == len(load_claims()) * 2  # one system + pooled
    c01 = _verdict(table, "C01")
    assert c01["verdict"] == "supported" and c01["n_cells"] == 1, c01["reason"]
    assert 1.2 < c01["effect"] < 1.6 and "torch (eager)" in c01["ratio_definition"]
    assert _verdict(table, "C08")["reason"] == "needs accuracy runs: none in the dataset"
    assert _verdict(table, "C15")["reason"].startswith("needs a multi-worker grid")
    for cid in ("C05", "C07", "C09"):
        assert _verdict(table, cid)["reason"] == "needs cuda runs: none in the dataset"


def test_dataset_with_one_framework_and_failures() -> None:
    records = planted_records({base_cell(): 30.0}, reps=4, seed=41)
    records += planted_records({base_cell(): 30.0}, reps=2, seed=42, status="oom")
    frames = records_to_frames(records)
    result = analyze(frames["runs"], frames["steps"], parse_claims(SPEC), n_resamples=200)
    assert result.comparisons.height == 0
    assert set(result.claims["verdict"]) == {"not testable here"}
    cell = result.cell_stats.filter(pl.col("system_id") == "pooled").to_dicts()[0]
    assert (cell["n_runs"], cell["n_ok"], cell["n_failed"]) == (6, 4, 2)


@pytest.mark.parametrize("path, value, field", [
    (("claims", 0, "metric"), "speed", "metric"),
    (("claims", 0, "filter", "model"), ["resnet"], "filter.model"),
    (("claims", 0, "filter", "colour"), ["red"], "filter.colour"),
    (("claims", 0, "a", "mode"), ["jit"], "a.mode"),
    (("claims", 0, "threshold"), "huge", "threshold"),
    (("claims", 0, "text"), "", "text"),
    (("claims", 0, "requires"), ["gpu_cluster"], "requires"),
    (("claims", 1, "id"), "T01", "id"),
])
def test_invalid_claims_name_id_and_field(path: tuple, value: object, field: str) -> None:
    spec = copy.deepcopy(SPEC)
    target = spec
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ClaimError) as err:
        parse_claims(spec, "claims.yaml")
    assert "claim T01" in str(err.value) and f"field '{field}'" in str(err.value)


def test_inline_threshold_and_file_loading(tmp_path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["claims"][0]["threshold"] = {"within": [1.2, 1.6], "text": "between 20% and 60% faster"}
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(spec))
    claim = load_claims(path)[0]
    assert (claim.threshold.low, claim.threshold.high) == (1.2, 1.6)
    bad = copy.deepcopy(spec)
    bad["claims"][0]["threshold"] = {"within": [1.6, 1.2], "text": "backwards"}
    with pytest.raises(ClaimError, match="claim T01"):
        parse_claims(bad)


def test_a_cell_below_four_usable_runs_is_left_out_and_the_claim_flagged() -> None:
    """Minimum evidence: a TensorFlow cell with 3 runs leaves its pair out of the claim, which says so."""
    from fwbench.stats.comparisons import MIN_RUNS

    tf = {"framework": "tensorflow", "mode": "function"}
    records = planted_records({base_cell(size="small"): 30.0, base_cell(size="medium"): 30.0,
                               base_cell(size="small", **tf): 40.0}, reps=6, seed=3)
    records += planted_records({base_cell(size="medium", **tf): 40.0}, reps=MIN_RUNS - 1, seed=4)
    frames = records_to_frames(records)
    table = analyze(frames["runs"], frames["steps"], n_resamples=200).claims
    row = _verdict(table, "C01")
    assert row["n_cells"] == 1 and row["pairs_dropped"] == 1, row
    assert f"tensorflow function: {MIN_RUNS - 1} runs" in row["dropped_pairs"]
    assert "left out" in row["reason"] and row["verdict"] != "not testable here"


def _one_claim(cells: dict, threshold: str, metric: str = "step_time", run_noise: float = 0.05) -> dict:
    spec = copy.deepcopy(SPEC)
    spec["thresholds"]["significantly"] = {"above": 1.10, "text": "CI above 1.10"}
    spec["claims"] = [{"id": "T99", "text": "planted", "source": "test", "tests": "cnn", "metric": metric,
                       "contrast": "all-pairs", "a": {"framework": "torch"}, "b": {"framework": "tensorflow"},
                       "filter": {"model": ["cnn"]}, "threshold": threshold}]
    frames = records_to_frames(planted_records(cells, reps=8, seed=51, run_noise=run_noise))
    return _verdict(analyze(frames["runs"], frames["steps"], parse_claims(spec), n_resamples=400).claims, "T99")


def test_cells_at_half_and_double_depend_on_the_cell_never_comparable() -> None:
    """A geometric mean of 0.5x and 2x is 1: the pooled CI may sit inside 'comparable', the cells do not."""
    cells = framework_cells(25.0, 50.0, size="small") | framework_cells(100.0, 50.0, size="medium")
    row = _one_claim(cells, "comparable")
    assert row["verdict"] == "depends on the cell", row["reason"]
    assert "above 1" in row["reason"] and "below 1" in row["reason"]


def test_a_small_effect_under_a_significantly_threshold_holds_in_direction_not_size() -> None:
    row = _one_claim(framework_cells(52.5, 50.0), "significantly", run_noise=0.01)  # torch 1.05x slower; claim > 1.10
    assert 1.0 < row["effect_low"] and row["effect_high"] < 1.10, row["reason"]
    assert row["verdict"] == "direction holds, size not"


def test_region_verdicts_follow_the_vocabulary() -> None:
    from fwbench.stats.claims import Region

    greater, significantly = Region("greater", 1.0, None, "t"), Region("significantly", 1.1, None, "t")
    comparable = Region("comparable", 0.9, 1.1, "t")
    assert greater.verdict(1.02, 1.3)[0] == "supported"
    assert greater.verdict(0.7, 0.95)[0] == "contradicted"
    assert greater.verdict(0.95, 1.2)[0] == "inconclusive"
    assert significantly.verdict(1.03, 1.08)[0] == "direction holds, size not"
    assert significantly.verdict(0.8, 0.9)[0] == "contradicted"
    assert comparable.verdict(0.95, 1.05)[0] == "supported"
    assert comparable.verdict(1.2, 1.4)[0] == "contradicted"
    assert comparable.verdict(1.02, 1.3)[0] == "inconclusive"


def test_every_repository_claim_names_its_contrast_and_defaults_means_default_modes() -> None:
    claims = {c.id: c for c in load_claims()}
    assert all(c.contrast in ("defaults", "best-of", "all-pairs", "as-stated") for c in claims.values())
    a, b = claims["C01"].sides()
    assert (a.framework, a.modes, b.framework, b.modes) == ("tensorflow", ("function",), "torch", ("eager",))
    assert claims["C11b"].contrast == "as-stated" and claims["C11b"].sides()[0].modes == ("eager",)
    # TF eager stands for TensorFlow in no framework-vs-framework claim (CLAIMS.md): only in C11b
    tf_eager = [c.id for c in claims.values() for side in c.sides()
                if side.framework == "tensorflow" and "eager" in side.modes]
    assert tf_eager == ["C11b"]
    spec = copy.deepcopy(SPEC)
    spec["claims"][0]["contrast"] = "defaults"
    spec["claims"][0]["a"] = {"framework": "tensorflow", "mode": ["eager"]}
    with pytest.raises(ClaimError, match="claim T01: field 'contrast'"):
        parse_claims(spec)
    del spec["claims"][0]["contrast"]
    with pytest.raises(ClaimError, match="field 'contrast'.*allowed: defaults, best-of, all-pairs, as-stated"):
        parse_claims(spec)
