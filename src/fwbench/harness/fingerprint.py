"""The system fingerprint stored in every run record, gathered without importing a framework.

Field names follow MLPerf's system description (host_processor_model_name, ...). The
`system_id` hashes only the hardware part, so a software upgrade keeps the id while a different
host never shares it; the raw-run layout data/raw/<grid>/<system-id>/... relies on that. Package
versions come from importlib.metadata (distribution metadata), never from importing torch or
tensorflow, so the parent process of a run stays light and the fingerprint costs milliseconds
(the frameworks' BLAS/oneDNN build is reported by the worker, which imports its framework anyway:
fwbench.harness.worker.framework_build).

Fingerprint versions (recorded as `system.fingerprint_version`; a record without it is version 1):
- v1 (HARDWARE_KEYS, `hardware_id_v1`): CPU model name, logical cores, memory GiB, accelerator
  model and count. Under a hypervisor "AMD EPYC" names no CPU generation, so v1 ids of different
  machines collide. Records made with it keep their id (raw records are never edited).
- v2 (HARDWARE_KEYS_V2, the current one): v1's keys plus CPU vendor, family, model number,
  stepping, the kernel-relevant flags (sse4_2, avx, avx2, fma, avx512*, amx*), the L1d/L1i/L2/L3
  cache sizes and the hypervisor vendor. Recorded but not hashed: microcode, kernel release,
  frequency governor, numpy's BLAS (threadpoolctl).

As pyperf's _collect_metadata.py does, the hardware description is a chain of small `collect_*`
functions, each adding what it can read and quietly leaving null what the platform lacks; each
reads under a `root` directory (default "/") and takes lscpu's text as an argument, so tests
parse planted /proc and /sys files.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import psutil

from fwbench.ids import ID_LENGTH, SYSTEM_ID_LENGTH, short_hash
from fwbench.paths import ENV_DIR, REPO_ROOT

# Distributions whose versions are recorded (null when not installed). "tensorflow" is the
# framework version from whichever distribution provides the module (tensorflow-cpu here).
PACKAGES: tuple[str, ...] = (
    "fwbench", "torch", "tensorflow-cpu", "keras", "numpy", "jax", "jaxlib", "flax", "optax", "ml-dtypes",
    "scipy", "psutil", "jsonschema",
)
TENSORFLOW_DISTRIBUTIONS: tuple[str, ...] = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu")
LOCK_FILES: tuple[str, ...] = ("requirements-cpu.txt", "constraints-cpu.txt")
#: Version of the fingerprint (and of the system_id algorithm) this module writes.
FINGERPRINT_VERSION = 2
#: v1 hardware keys: the id of records without fingerprint_version (kept to document old ids).
HARDWARE_KEYS: tuple[str, ...] = (
    "host_processor_model_name", "host_processor_core_count", "host_memory_capacity_gb",
    "accelerator_model_name", "accelerator_count",
)
#: v2 hardware keys: what tells CPU generations apart, also under a hypervisor.
HARDWARE_KEYS_V2: tuple[str, ...] = HARDWARE_KEYS + (
    "host_processor_vendor", "host_processor_family", "host_processor_model", "host_processor_stepping",
    "host_processor_flags", "host_processor_l1d_cache_kib", "host_processor_l1i_cache_kib",
    "host_processor_l2_cache_kib", "host_processor_l3_cache_kib", "host_hypervisor_vendor",
)
HARDWARE_KEYS_BY_VERSION: dict[int, tuple[str, ...]] = {1: HARDWARE_KEYS, 2: HARDWARE_KEYS_V2}
#: CPU flags that select compute kernels (oneDNN, MKL, OpenBLAS, XLA): these exactly, plus every
#: flag starting with one of KERNEL_FLAG_PREFIXES.
KERNEL_FLAGS: tuple[str, ...] = ("sse4_2", "avx", "avx2", "fma")
KERNEL_FLAG_PREFIXES: tuple[str, ...] = ("avx512", "amx")
#: (level, sysfs type) of each recorded cache -> its key; level 2 and 3 are unified on every
#: current CPU (a 'Data' L2/L3 is taken as the same cache).
CACHE_KEYS: dict[tuple[int, str], str] = {
    (1, "Data"): "host_processor_l1d_cache_kib", (1, "Instruction"): "host_processor_l1i_cache_kib",
    (2, "Unified"): "host_processor_l2_cache_kib", (2, "Data"): "host_processor_l2_cache_kib",
    (3, "Unified"): "host_processor_l3_cache_kib", (3, "Data"): "host_processor_l3_cache_kib",
}
LSCPU_CACHE_KEYS: dict[str, str] = {
    "L1d cache": "host_processor_l1d_cache_kib", "L1i cache": "host_processor_l1i_cache_kib",
    "L2 cache": "host_processor_l2_cache_kib", "L3 cache": "host_processor_l3_cache_kib",
}


def cpu_model_name() -> str:
    """'model name' from /proc/cpuinfo (Linux), else platform.processor() or the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def logical_core_count() -> int:
    """Cores this process may run on (the affinity mask, which containers narrow), else cpu_count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def memory_capacity_gb() -> int:
    """Physical memory in GiB, rounded to an integer so tiny kernel reservations do not change it."""
    return int(round(psutil.virtual_memory().total / 2**30))


def _nvidia_smi(query: str) -> list[str]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, f"--query-gpu={query}", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def nvidia_driver_present() -> bool:
    """True when an NVIDIA kernel driver is loaded or nvidia-smi exists; cheap, imports nothing."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


@lru_cache(maxsize=1)
def accelerators() -> dict[str, Any]:
    """NVIDIA GPUs as nvidia-smi reports them (model of the first, count, driver); none otherwise."""
    rows = [row.split(", ") for row in _nvidia_smi("name,driver_version")]
    rows = [row for row in rows if len(row) == 2]
    if not rows:
        return {"accelerator_model_name": None, "accelerator_count": 0, "accelerator_driver_version": None}
    names = sorted({row[0] for row in rows})
    return {
        "accelerator_model_name": " + ".join(names),
        "accelerator_count": len(rows),
        "accelerator_driver_version": rows[0][1],
    }


def torch_cuda_version() -> str | None:
    """CUDA version the installed torch was built with, read from torch/version.py (no import)."""
    spec = find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    version_file = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    try:
        match = re.search(r"^cuda\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", version_file.read_text(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1) if match else None


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["tensorflow"] = None
    for dist in TENSORFLOW_DISTRIBUTIONS:
        try:
            versions["tensorflow"] = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    return dict(sorted(versions.items()))


def git_commit(root: Path = REPO_ROOT) -> tuple[str | None, bool | None]:
    """(HEAD commit, working tree dirty?) of the repository, (None, None) outside a git checkout."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=20, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return (head or None), bool(status.strip())


def env_lock_hash(env_dir: Path = ENV_DIR) -> str | None:
    """Short sha256 of the CPU lock files (requirements + constraints); None if none exists."""
    digest = hashlib.sha256()
    found = False
    for name in LOCK_FILES:
        path = env_dir / name
        if path.is_file():
            found = True
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:ID_LENGTH] if found else None


# --- CPU description (v2) ------------------------------------------------------------------------

def _read(root: Path, relative: str) -> str | None:
    """Text of root/relative, None when absent or unreadable (a platform without it)."""
    try:
        return (root / relative).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def parse_cpuinfo(text: str) -> dict[str, str]:
    """The first processor block of /proc/cpuinfo as {field: value} (later blocks repeat it)."""
    return parse_lscpu(re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0])


def kernel_relevant_flags(flags: list[str] | str) -> list[str]:
    """The flags that select compute kernels (KERNEL_FLAGS and KERNEL_FLAG_PREFIXES), sorted."""
    names = flags.split() if isinstance(flags, str) else flags
    return sorted({f for f in names if f in KERNEL_FLAGS or f.startswith(KERNEL_FLAG_PREFIXES)})


def parse_lscpu(text: str) -> dict[str, str]:
    """`lscpu` output (LC_ALL=C), or any 'field: value' lines, as {field: value} (the first one wins)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


@lru_cache(maxsize=1)
def lscpu_text() -> str | None:
    """Output of `lscpu` in the C locale, None where it is missing or fails."""
    exe = shutil.which("lscpu")
    if not exe:
        return None
    try:
        return subprocess.run([exe], capture_output=True, text=True, timeout=20, check=True,
                              env={**os.environ, "LC_ALL": "C"}).stdout
    except (OSError, subprocess.SubprocessError):
        return None


_SIZE_UNITS = {"": 1 / 1024, "B": 1 / 1024, "K": 1, "KB": 1, "KIB": 1, "M": 1024, "MB": 1024, "MIB": 1024,
               "G": 1024**2, "GB": 1024**2, "GIB": 1024**2}


def size_kib(text: str) -> int | None:
    """'48K' (sysfs), '32 MiB', '96 KiB (2 instances)' (lscpu: a total, divided by the instances)
    -> KiB per instance; None when unparseable."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*(?:\((\d+) instances?\))?\s*", text)
    if not match or match.group(2).upper() not in _SIZE_UNITS:
        return None
    instances = int(match.group(3) or 1)
    return int(round(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()] / max(instances, 1)))


def _cpuinfo_fields(root: Path) -> dict[str, str]:
    text = _read(root, "proc/cpuinfo")
    return parse_cpuinfo(text) if text else {}


def cpu_flags(root: Path = Path("/")) -> list[str] | None:
    """Every flag of the first processor in /proc/cpuinfo (the worker's check of what a variant needs);
    None where there are none (not x86, or no /proc)."""
    flags = _cpuinfo_fields(root).get("flags")
    return None if flags is None else flags.split()


def collect_cpuinfo(info: dict[str, Any], root: Path) -> None:
    """Vendor, family, model, stepping, microcode and kernel-relevant flags from /proc/cpuinfo (x86;
    left null on CPUs whose cpuinfo has other fields, e.g. ARM), and whether the `hypervisor` flag is set."""
    fields = _cpuinfo_fields(root)
    flags = fields.get("flags")
    info.update({
        "host_processor_vendor": fields.get("vendor_id"),
        "host_processor_family": _int(fields.get("cpu family")),
        "host_processor_model": _int(fields.get("model")),
        "host_processor_stepping": _int(fields.get("stepping")),
        "host_processor_flags": None if flags is None else kernel_relevant_flags(flags),
        "host_processor_microcode": fields.get("microcode"),
        "_hypervisor_flag": None if flags is None else "hypervisor" in flags.split(),
    })


def collect_caches(info: dict[str, Any], root: Path, lscpu: dict[str, str]) -> None:
    """L1d, L1i, L2, L3 size per instance in KiB: cpu0's sysfs cache directories, else lscpu."""
    caches: dict[str, int | None] = dict.fromkeys(CACHE_KEYS.values())
    base = root / "sys/devices/system/cpu/cpu0/cache"
    for index in sorted(base.glob("index*")) if base.is_dir() else []:
        level, kind, size = (_read(index, name) for name in ("level", "type", "size"))
        key = CACHE_KEYS.get((_int(level) or 0, (kind or "").strip()))
        if key and size and caches[key] is None:
            caches[key] = size_kib(size)
    for label, key in LSCPU_CACHE_KEYS.items():
        if caches[key] is None and label in lscpu:
            caches[key] = size_kib(lscpu[label])
    info.update(caches)


def collect_hypervisor(info: dict[str, Any], root: Path, lscpu: dict[str, str]) -> None:
    """Hypervisor vendor: lscpu's 'Hypervisor vendor', else /sys/hypervisor/type, else 'none' when
    the CPU lacks the `hypervisor` flag, 'unknown' when it has it; null when nothing says."""
    vendor = lscpu.get("Hypervisor vendor") or (_read(root, "sys/hypervisor/type") or "").strip() or None
    if vendor is None and info.get("_hypervisor_flag") is not None:
        vendor = "unknown" if info["_hypervisor_flag"] else "none"
    info["host_hypervisor_vendor"] = vendor


def collect_governor(info: dict[str, Any], root: Path) -> None:
    """cpu0's frequency scaling governor (null where cpufreq is not exposed, e.g. most VMs)."""
    text = _read(root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    info["host_cpu_frequency_governor"] = (text.strip() or None) if text is not None else None


def cpu_description(root: Path = Path("/"), lscpu: str | None = None) -> dict[str, Any]:
    """The v2 CPU fields read under `root`: the collect_* chain. `lscpu` is lscpu's text (run here
    when root is "/" and none is given)."""
    if lscpu is None and root == Path("/"):
        lscpu = lscpu_text()
    fields = parse_lscpu(lscpu or "")
    info: dict[str, Any] = {}
    collect_cpuinfo(info, root)
    collect_caches(info, root, fields)
    collect_hypervisor(info, root, fields)
    collect_governor(info, root)
    info.pop("_hypervisor_flag", None)
    return info


@lru_cache(maxsize=1)
def _host_cpu_description() -> dict[str, Any]:
    return cpu_description()


def numpy_blas() -> list[dict[str, Any]] | None:
    """numpy's BLAS as threadpoolctl sees it in this process (internal_api, version, architecture,
    threading layer); null when threadpoolctl is missing. Imports numpy (not a framework)."""
    try:
        import numpy  # noqa: F401  (loads the BLAS library threadpoolctl inspects)
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keys = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer")
    try:
        return [{key: entry.get(key) for key in keys} for entry in threadpool_info()]
    except Exception:  # noqa: BLE001 -- an introspection failure only leaves the field null
        return None


def hardware_fingerprint() -> dict[str, Any]:
    """The hardware part of the fingerprint: the only input of system_id (HARDWARE_KEYS_V2)."""
    accel = accelerators()
    cpu = _host_cpu_description()
    return {
        "host_processor_model_name": cpu_model_name(),
        "host_processor_core_count": logical_core_count(),
        "host_memory_capacity_gb": memory_capacity_gb(),
        "accelerator_model_name": accel["accelerator_model_name"],
        "accelerator_count": accel["accelerator_count"],
        **{key: cpu[key] for key in HARDWARE_KEYS_V2 if key in cpu},
    }


def hardware_id(hardware: dict[str, Any], version: int = FINGERPRINT_VERSION) -> str:
    """10-hex sha256 of the canonical JSON of the hardware keys of fingerprint `version` (a key
    the dict lacks counts as null)."""
    return short_hash({key: hardware.get(key) for key in HARDWARE_KEYS_BY_VERSION[version]}, SYSTEM_ID_LENGTH)


def hardware_id_v1(hardware: dict[str, Any]) -> str:
    """How the id of a record without fingerprint_version was made (model name, cores, memory,
    accelerator model and count). Never a new record's id: ingest uses it to link a v2 host to the
    runs it recorded under its v1 id (`systems.system_id_v1`)."""
    return hardware_id(hardware, version=1)


def system_id() -> str:
    """The short hardware id (v2) used in raw-run paths (data/raw/<grid>/<system-id>/...)."""
    return hardware_id(hardware_fingerprint())


#: Slurm's job environment -> the keys of `system.scheduler` (sbatch/srun set these in every job).
SLURM_ENV: dict[str, str] = {"job_id": "SLURM_JOB_ID", "node": "SLURMD_NODENAME", "cluster": "SLURM_CLUSTER_NAME",
                             "partition": "SLURM_JOB_PARTITION"}


def scheduler_job(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The batch job this process runs in (`system.scheduler`): Slurm's job id, node, cluster and
    partition; None outside a scheduler. Recorded, never hashed into the system_id."""
    environ = os.environ if environ is None else environ
    if not environ.get(SLURM_ENV["job_id"]):
        return None
    return {"name": "slurm", **{key: environ.get(var) or None for key, var in SLURM_ENV.items()}}


def system_fingerprint() -> dict[str, Any]:
    """The record's `system` object: hardware, OS, Python, package versions, git commit, lock hash,
    and the v2 fields that are recorded but not hashed (microcode, kernel, governor, numpy's BLAS).
    The run's framework build (`framework_build`) is added by the runner from the worker's report."""
    hardware = hardware_fingerprint()
    cpu = _host_cpu_description()
    commit, dirty = git_commit()
    accel = accelerators()
    return {
        "fingerprint_version": FINGERPRINT_VERSION,
        "system_id": hardware_id(hardware),
        **hardware,
        "host_processor_microcode": cpu.get("host_processor_microcode"),
        "host_kernel_release": platform.release() or None,
        "host_cpu_frequency_governor": cpu.get("host_cpu_frequency_governor"),
        "numpy_blas": numpy_blas(),
        "accelerator_driver_version": accel["accelerator_driver_version"],
        "cuda_version": torch_cuda_version(),
        "operating_system": platform.platform(),
        "python_version": platform.python_version(),
        "packages": package_versions(),
        "git_commit": commit,
        "git_dirty": dirty,
        "env_lock_hash": env_lock_hash(),
        "scheduler": scheduler_job(),
    }
