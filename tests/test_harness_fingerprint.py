"""System fingerprint: every schema field, a stable hardware-only id, no framework import."""

from __future__ import annotations

import json
import subprocess
import sys

from fwbench.harness import fingerprint as fp
from fwbench.schemas import load_schema


def test_fingerprint_has_every_schema_field_and_validates() -> None:
    import jsonschema

    system_schema = load_schema("run")["properties"]["system"]
    system = fp.system_fingerprint()
    assert set(system_schema["required"]) <= set(system)
    jsonschema.validate(system, system_schema)
    assert system["host_processor_core_count"] >= 1
    assert system["packages"]["numpy"]
    assert set(fp.PACKAGES) <= set(system["packages"]) and "tensorflow" in system["packages"]


def test_system_id_is_stable_and_hardware_only() -> None:
    assert fp.system_id() == fp.system_id() == fp.system_fingerprint()["system_id"]
    hardware = fp.hardware_fingerprint()
    assert fp.hardware_id(hardware) == fp.system_id()
    # software fields do not enter the id; each hardware field does
    assert fp.hardware_id({**hardware, "python_version": "0.0"}) == fp.system_id()
    for key, other in [("host_processor_core_count", 999), ("host_memory_capacity_gb", 1),
                       ("accelerator_model_name", "Some GPU"), ("accelerator_count", 8),
                       ("host_processor_model_name", "Other CPU")]:
        assert fp.hardware_id({**hardware, key: other}) != fp.system_id()


def test_env_lock_hash_tracks_lock_content(tmp_path) -> None:
    assert fp.env_lock_hash(tmp_path) is None
    (tmp_path / "requirements-cpu.txt").write_text("numpy==1\n")
    first = fp.env_lock_hash(tmp_path)
    (tmp_path / "requirements-cpu.txt").write_text("numpy==2\n")
    assert first and fp.env_lock_hash(tmp_path) != first


def test_git_commit_null_outside_a_repository(tmp_path) -> None:
    assert fp.git_commit(tmp_path) == (None, None)


def test_fingerprint_imports_no_framework() -> None:
    code = ("import sys, json; from fwbench.harness.fingerprint import system_fingerprint; system_fingerprint(); "
            "print(json.dumps([m for m in ('torch', 'tensorflow', 'keras', 'jax') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
