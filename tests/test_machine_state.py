"""Machine state per run: /proc/stat arithmetic on planted text, the canary, and a real tiny run's
record carrying machine_state and the v2 fingerprint (schema-valid); old records stay valid."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fwbench.cells import Cell
from fwbench.harness import machine_state as ms
from fwbench.harness.fingerprint import hardware_id_v1, nvidia_driver_present
from fwbench.harness.record import RunContext
from fwbench.harness.runner import run_cell
from fwbench.records import RecordError, read_record, validate_record
from fwbench.schemas import load_schema

BEFORE = """cpu  1000 0 500 8000 100 0 0 400 0 0
cpu0 500 0 250 4000 50 0 0 200 0 0
intr 12345
"""
# +500 user, +200 system, +600 idle, +100 iowait, +200 steal: 1600 ticks in all
AFTER = """cpu  1500 0 700 8600 200 0 0 600 0 0
cpu0 750 0 350 4300 100 0 0 300 0 0
"""


def test_proc_stat_parses_the_aggregate_line() -> None:
    times = ms.parse_proc_stat(BEFORE)
    assert times == ms.CpuTimes(user=1000, system=500, idle=8000, iowait=100, steal=400)
    assert times.total == 10000 and times.busy == 1500
    assert ms.parse_proc_stat("cpu  1 2 3 4\n") == ms.CpuTimes(1, 2, 3, 4)  # old kernels: fewer fields
    assert ms.parse_proc_stat("cpu0 1 2 3 4\nintr 5\n") is None
    assert ms.read_cpu_times(Path("/nonexistent")) is None


def test_steal_iowait_and_other_cpu_from_planted_proc_stat() -> None:
    before, after = ms.parse_proc_stat(BEFORE), ms.parse_proc_stat(AFTER)
    # busy = 500 user + 200 system = 700 ticks = 7 s at 100 Hz; the worker and parent used 4.5 s
    assert ms.cpu_usage(before, after, own_cpu_s=4.5, ticks_per_s=100) == {
        "steal_pct": 12.5, "iowait_pct": 6.25, "other_cpu_s": 2.5}
    # tick resolution can make own CPU exceed busy: clamped at 0
    assert ms.cpu_usage(before, after, own_cpu_s=7.02, ticks_per_s=100)["other_cpu_s"] == 0.0
    nulls = {"steal_pct": None, "iowait_pct": None, "other_cpu_s": None}
    assert ms.cpu_usage(None, after, 0.0) == nulls  # no /proc/stat
    assert ms.cpu_usage(before, before, 0.0) == nulls  # no tick between the reads


def test_state_between_snapshots_has_every_key(monkeypatch) -> None:
    monkeypatch.setattr(ms, "clock_ticks_per_second", lambda: 100)
    before = ms.Snapshot(ms.parse_proc_stat(BEFORE), 0.5, children_cpu_s=1.0, self_cpu_s=2.0, wall=10.0)
    after = ms.Snapshot(ms.parse_proc_stat(AFTER), 0.75, children_cpu_s=4.0, self_cpu_s=3.5, wall=26.5)
    state = ms.state_between(before, after, {"canary_ms": 4.2, "canary": None})
    assert tuple(state) == ms.STATE_KEYS
    assert (state["steal_pct"], state["iowait_pct"], state["other_cpu_s"]) == (12.5, 6.25, 2.5)
    assert (state["load1_before"], state["load1_after"], state["wall_s"], state["canary_ms"]) == (0.5, 0.75, 16.5, 4.2)


def test_canary_times_a_fixed_number_of_calls(monkeypatch) -> None:
    result = ms.run_canary(iterations=3, size=64)
    assert result["canary_ms"] > 0
    assert result["canary"]["iterations"] == 3 and result["canary"]["size"] == 64
    assert result["canary"]["threads"] == 1 and result["canary"]["warmup_iterations"] == 1
    assert result["canary"]["total_s"] >= 3 * result["canary_ms"] / 1000 * 0.5
    monkeypatch.delenv(ms.CANARY_ENV, raising=False)
    assert ms.canary_iterations() == ms.CANARY_ITERATIONS == 100
    monkeypatch.setenv(ms.CANARY_ENV, "0")
    assert ms.run_canary() == {"canary_ms": None, "canary": None}
    monkeypatch.setenv(ms.CANARY_ENV, "-2")
    with pytest.raises(ValueError, match=ms.CANARY_ENV):
        ms.canary_iterations()


def test_observe_fills_the_state_after_the_block(monkeypatch) -> None:
    monkeypatch.setenv(ms.CANARY_ENV, "2")
    with ms.observe() as state:
        assert state == {}
        sum(range(200_000))
    assert tuple(state) == ms.STATE_KEYS
    assert state["canary"]["iterations"] == 2 and state["canary_ms"] > 0
    assert state["wall_s"] >= 0 and state["load1_before"] is not None
    schema = load_schema("run")["properties"]["machine_state"]
    jsonschema.validate(state, schema)
    jsonschema.validate(ms.without_run(), schema)


def _tiny(device: str = "cpu") -> RunContext:
    cell = Cell(framework="torch", mode="eager", model="cnn", size="tiny", phase="train", batch_size=2, seq_len=0,
                device=device, threads=1)
    return RunContext(cell=cell, seed=0, warmup=1, steps=2, timeout_s=300)


def test_tiny_run_record_carries_machine_state_and_the_v2_fingerprint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ms.CANARY_ENV, "5")
    out = tmp_path / "run.json"
    run_cell(_tiny(), out, log=None)
    record = read_record(out)  # validates against run.schema.yaml
    assert record["status"] == "ok", record["error"]
    state = record["machine_state"]
    assert set(state) == set(ms.STATE_KEYS)
    assert state["canary_ms"] > 0 and state["canary"]["iterations"] == 5 and state["canary"]["threads"] == 1
    assert state["wall_s"] > 0
    if Path("/proc/stat").exists():
        assert 0 <= state["steal_pct"] <= 100 and 0 <= state["iowait_pct"] <= 100 and state["other_cpu_s"] >= 0
    system = record["system"]
    assert system["fingerprint_version"] == 2
    build = system["framework_build"]
    assert build["framework"] == "torch" and build["version"] and "mkldnn_available" in build
    assert build["num_threads"] == 1  # the worker's environment set one thread before the import


@pytest.mark.skipif(nvidia_driver_present(), reason="the worker-less skip needs a host without an NVIDIA driver")
def test_record_without_a_worker_has_load_but_no_canary(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    run_cell(_tiny("cuda"), out, log=None)
    record = read_record(out)
    assert record["status"] == "skipped"
    assert record["machine_state"]["canary_ms"] is None and record["machine_state"]["canary"] is None
    assert record["machine_state"]["load1_before"] == record["machine_state"]["load1_after"]
    assert record["system"]["framework_build"] is None


def test_records_before_fingerprint_v2_stay_valid(tmp_path: Path, monkeypatch) -> None:
    """A record without machine_state, campaign_id and the v2 system fields (the shipped
    2026-11-25 runs) validates; the new fields are optional."""
    monkeypatch.setenv(ms.CANARY_ENV, "0")
    out = tmp_path / "run.json"
    run_cell(_tiny("cuda") if not nvidia_driver_present() else _tiny(), out, log=None)
    record = json.loads(out.read_text())
    old_system = {k: v for k, v in record["system"].items() if k in load_schema("run")["properties"]["system"]["required"]}
    old = {**{k: v for k, v in record.items() if k not in ("machine_state", "campaign_id")},
           "system": {**old_system, "system_id": "61f2d7d45e"}}
    validate_record(old, source="old.json")
    validate_record({**record, "campaign_id": "20261129T223500Z-3f9a"}, source="new.json")
    with pytest.raises(RecordError, match="campaign_id"):
        validate_record({**record, "campaign_id": "not-a-campaign"}, source="bad.json")


def test_flattened_columns_of_new_and_old_records(tmp_path: Path, monkeypatch) -> None:
    """runs gets the machine-state columns and run_systems the fingerprint columns; a record
    without them (before fingerprint v2) leaves them null."""
    from fwbench.dataset.flatten import Batch

    monkeypatch.setenv(ms.CANARY_ENV, "2")
    out = tmp_path / "run.json"
    run_cell(_tiny(), out, log=None)
    new = read_record(out)
    required = load_schema("run")["properties"]["system"]["required"]
    old = {**{k: v for k, v in new.items() if k != "machine_state"},
           "run_id": "0" * 32,
           "system": {**{k: v for k, v in new["system"].items() if k in required}, "system_id": "61f2d7d45e"}}
    batch = Batch()
    campaign = "20261129T223500Z-3f9a"
    for record in (new, old):
        batch.add({**record, "campaign_id": campaign}, f"default/{record['system']['system_id']}/{campaign}/"
                  f"{record['cell_id']}/rep-0.json", "hash")
    frames = batch.frames()
    runs, systems = frames["runs"].to_dicts(), frames["run_systems"].to_dicts()
    assert runs[0]["canary_ms"] == new["machine_state"]["canary_ms"] > 0
    assert runs[0]["load1_before"] == new["machine_state"]["load1_before"]
    assert all(runs[1][c] is None for c in ("canary_ms", "steal_pct", "iowait_pct", "other_cpu_s", "load1_before",
                                           "load1_after"))
    assert systems[0]["fingerprint_version"] == 2 and systems[1]["fingerprint_version"] is None
    flags = new["system"]["host_processor_flags"]
    assert systems[0]["host_processor_flags"] == (None if flags is None else json.dumps(flags))
    assert json.loads(systems[0]["framework_build"])["framework"] == "torch"
    # the v1 id links a host's v2 runs to its runs recorded under the v1 id
    assert systems[0]["system_id_v1"] == hardware_id_v1(new["system"]) and systems[1]["system_id_v1"] == "61f2d7d45e"
    assert systems[0]["extra"] == json.dumps({"git_dirty": new["system"]["git_dirty"]})  # every v2 field has a column
