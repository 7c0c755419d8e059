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


# --- fingerprint v2 --------------------------------------------------------------------------------

INTEL_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
stepping\t: 8
microcode\t: 0x2b000603
flags\t\t: fpu sse4_1 sse4_2 avx avx2 fma hypervisor avx512f avx512_bf16 avx512vl amx_bf16 amx_tile amx_int8 avx_vnni

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 999
"""


def _plant(root, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _caches(sizes: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    base = "sys/devices/system/cpu/cpu0/cache"
    files = {}
    for index, (level, kind, size) in sizes.items():
        files |= {f"{base}/{index}/level": level + "\n", f"{base}/{index}/type": kind + "\n",
                  f"{base}/{index}/size": size + "\n"}
    return files


def test_cpu_description_parses_cpuinfo_caches_hypervisor_and_governor(tmp_path) -> None:
    _plant(tmp_path, {"proc/cpuinfo": INTEL_CPUINFO, "sys/hypervisor/type": "xen\n",
                      "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "performance\n",
                      **_caches({"index0": ("1", "Data", "48K"), "index1": ("1", "Instruction", "32K"),
                                 "index2": ("2", "Unified", "2048K"), "index3": ("3", "Unified", "105M")})})
    assert fp.cpu_description(tmp_path, lscpu="") == {
        "host_processor_vendor": "GenuineIntel", "host_processor_family": 6, "host_processor_model": 143,
        "host_processor_stepping": 8, "host_processor_microcode": "0x2b000603",
        # only the first processor block counts; flags filtered to the kernel-relevant ones, sorted
        "host_processor_flags": ["amx_bf16", "amx_int8", "amx_tile", "avx", "avx2", "avx512_bf16", "avx512f",
                                 "avx512vl", "fma", "sse4_2"],
        "host_processor_l1d_cache_kib": 48, "host_processor_l1i_cache_kib": 32,
        "host_processor_l2_cache_kib": 2048, "host_processor_l3_cache_kib": 105 * 1024,
        "host_hypervisor_vendor": "xen", "host_cpu_frequency_governor": "performance",
    }


def test_lscpu_fills_what_sysfs_lacks_and_wins_for_the_hypervisor(tmp_path) -> None:
    _plant(tmp_path, {"proc/cpuinfo": INTEL_CPUINFO, "sys/hypervisor/type": "xen\n",
                      **_caches({"index0": ("1", "Data", "48K")})})
    lscpu = ("Vendor ID:           GenuineIntel\nHypervisor vendor:   KVM\nL1d cache:           96 KiB (2 instances)\n"
             "L1i cache:           64 KiB (2 instances)\nL2 cache:            4 MiB (2 instances)\n"
             "L3 cache:            105 MiB (1 instance)\n")
    info = fp.cpu_description(tmp_path, lscpu=lscpu)
    assert info["host_hypervisor_vendor"] == "KVM"
    assert [info[f"host_processor_{c}_cache_kib"] for c in ("l1d", "l1i", "l2", "l3")] == [48, 32, 2048, 107520]
    assert info["host_cpu_frequency_governor"] is None  # no cpufreq directory (a VM)


def test_hypervisor_from_the_cpu_flag_and_nulls_where_nothing_is_readable(tmp_path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    _plant(tmp_path / "metal", {"proc/cpuinfo": INTEL_CPUINFO.replace(" hypervisor", "")})
    _plant(tmp_path / "vm", {"proc/cpuinfo": INTEL_CPUINFO})
    _plant(tmp_path / "arm", {"proc/cpuinfo": "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\n"
                                              "CPU implementer\t: 0x41\nCPU part\t: 0xd40\n"})
    assert fp.cpu_description(tmp_path / "metal", lscpu="")["host_hypervisor_vendor"] == "none"
    assert fp.cpu_description(tmp_path / "vm", lscpu="")["host_hypervisor_vendor"] == "unknown"
    for root in (bare, tmp_path / "arm"):
        info = fp.cpu_description(root, lscpu="")
        assert set(info) == set(fp.HARDWARE_KEYS_V2) - set(fp.HARDWARE_KEYS) | {
            "host_processor_microcode", "host_cpu_frequency_governor"}
        assert all(value is None for value in info.values()), info


def test_size_kib_reads_sysfs_and_lscpu_sizes() -> None:
    assert fp.size_kib("48K") == 48
    assert fp.size_kib("32768K") == 32768
    assert fp.size_kib("32 MiB") == 32768
    assert fp.size_kib("96 KiB (2 instances)") == 48
    assert fp.size_kib("2 MiB (2 instances)") == 1024
    assert fp.size_kib("1 instance") is None and fp.size_kib("") is None


def test_v2_id_hashes_exactly_the_v2_hardware_keys() -> None:
    hardware = fp.hardware_fingerprint()
    assert set(hardware) == set(fp.HARDWARE_KEYS_V2)
    base = fp.hardware_id(hardware)
    # every value differs from this host's own, whatever the host (CI runs on Intel and AMD alike)
    changed = {"host_processor_vendor": f"{hardware['host_processor_vendor']}-other",
               "host_processor_family": (hardware["host_processor_family"] or 0) + 1,
               "host_processor_model": (hardware["host_processor_model"] or 0) + 1,
               "host_processor_stepping": (hardware["host_processor_stepping"] or 0) + 1,
               "host_processor_flags": sorted(set(hardware["host_processor_flags"] or []) ^ {"avx512f"}),
               "host_processor_l1d_cache_kib": (hardware["host_processor_l1d_cache_kib"] or 0) + 1,
               "host_processor_l1i_cache_kib": (hardware["host_processor_l1i_cache_kib"] or 0) + 1,
               "host_processor_l2_cache_kib": (hardware["host_processor_l2_cache_kib"] or 0) + 1,
               "host_processor_l3_cache_kib": (hardware["host_processor_l3_cache_kib"] or 0) + 1,
               "host_hypervisor_vendor": f"{hardware['host_hypervisor_vendor']}-other",
               "host_processor_model_name": f"{hardware['host_processor_model_name']}-other",
               "host_processor_core_count": (hardware["host_processor_core_count"] or 0) + 1,
               "host_memory_capacity_gb": (hardware["host_memory_capacity_gb"] or 0) + 1,
               "accelerator_model_name": f"{hardware['accelerator_model_name']}-other",
               "accelerator_count": (hardware["accelerator_count"] or 0) + 1}
    assert set(changed) == set(fp.HARDWARE_KEYS_V2)
    for key, other in changed.items():
        assert fp.hardware_id({**hardware, key: other}) != base, key
    system = fp.system_fingerprint()
    for key, other in [("host_processor_microcode", "0xdead"), ("host_kernel_release", "9.9.9"),
                       ("host_cpu_frequency_governor", "powersave"), ("numpy_blas", []),
                       ("framework_build", {"framework": "torch"}), ("packages", {}), ("fingerprint_version", 3)]:
        assert fp.hardware_id({**system, key: other}) == system["system_id"], key


def test_fingerprint_records_its_version_and_the_v2_fields() -> None:
    system = fp.system_fingerprint()
    assert system["fingerprint_version"] == fp.FINGERPRINT_VERSION == 2
    assert system["system_id"] == fp.hardware_id(system) == fp.system_id()
    assert set(fp.HARDWARE_KEYS_V2) | {"host_processor_microcode", "host_kernel_release",
                                       "host_cpu_frequency_governor", "numpy_blas"} <= set(system)
    assert system["host_kernel_release"]
    assert all(entry["internal_api"] for entry in system["numpy_blas"] or [])


def test_v1_ids_of_old_records_stay_explainable() -> None:
    """The shipped 2026-11-25 records (no fingerprint_version) carry the v1 id of this hardware."""
    old = {"host_processor_model_name": "AMD EPYC", "host_processor_core_count": 2, "host_memory_capacity_gb": 24,
           "accelerator_model_name": None, "accelerator_count": 0, "python_version": "3.11.7"}
    assert fp.hardware_id_v1(old) == fp.hardware_id(old, version=1) == "61f2d7d45e"
    assert fp.hardware_id(old) != "61f2d7d45e"  # v2 hashes more keys (missing ones count as null)


def test_a_slurm_job_is_recorded_beside_the_fingerprint_never_in_the_system_id() -> None:
    env = {"SLURM_JOB_ID": "4242", "SLURMD_NODENAME": "node7", "SLURM_CLUSTER_NAME": "hpc",
           "SLURM_JOB_PARTITION": "compute"}
    assert fp.scheduler_job(env) == {"name": "slurm", "job_id": "4242", "node": "node7", "cluster": "hpc",
                                     "partition": "compute"}
    assert fp.scheduler_job({}) is None and fp.scheduler_job({"SLURMD_NODENAME": "node7"}) is None
    assert "scheduler" not in fp.hardware_fingerprint()  # the id hashes hardware only
