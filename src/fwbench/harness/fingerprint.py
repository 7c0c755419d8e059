"""The system fingerprint stored in every run record, gathered without importing a framework.

Field names follow MLPerf's system description (host_processor_model_name, ...). The
`system_id` hashes only the hardware part (CPU model, logical cores, memory in GiB, accelerator
model and count), so a software upgrade keeps the id while a different host never shares it;
the raw-run layout data/raw/<grid>/<system-id>/... relies on that. Package versions come from
importlib.metadata (distribution metadata), never from importing torch or tensorflow, so the
parent process of a run stays light and the fingerprint costs milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
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
    "fwbench", "torch", "tensorflow-cpu", "keras", "numpy", "jax", "jaxlib", "ml-dtypes",
    "scipy", "psutil", "jsonschema",
)
TENSORFLOW_DISTRIBUTIONS: tuple[str, ...] = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu")
LOCK_FILES: tuple[str, ...] = ("requirements-cpu.txt", "constraints-cpu.txt")
HARDWARE_KEYS: tuple[str, ...] = (
    "host_processor_model_name", "host_processor_core_count", "host_memory_capacity_gb",
    "accelerator_model_name", "accelerator_count",
)


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


def hardware_fingerprint() -> dict[str, Any]:
    """The hardware part of the fingerprint: the only input of system_id."""
    accel = accelerators()
    return {
        "host_processor_model_name": cpu_model_name(),
        "host_processor_core_count": logical_core_count(),
        "host_memory_capacity_gb": memory_capacity_gb(),
        "accelerator_model_name": accel["accelerator_model_name"],
        "accelerator_count": accel["accelerator_count"],
    }


def hardware_id(hardware: dict[str, Any]) -> str:
    """10-hex sha256 of the canonical JSON of the hardware keys."""
    return short_hash({key: hardware[key] for key in HARDWARE_KEYS}, SYSTEM_ID_LENGTH)


def system_id() -> str:
    """The short hardware id used in raw-run paths (data/raw/<grid>/<system-id>/...)."""
    return hardware_id(hardware_fingerprint())


def system_fingerprint() -> dict[str, Any]:
    """The record's `system` object: hardware, OS, Python, package versions, git commit, lock hash."""
    hardware = hardware_fingerprint()
    commit, dirty = git_commit()
    accel = accelerators()
    return {
        "system_id": hardware_id(hardware),
        **hardware,
        "accelerator_driver_version": accel["accelerator_driver_version"],
        "cuda_version": torch_cuda_version(),
        "operating_system": platform.platform(),
        "python_version": platform.python_version(),
        "packages": package_versions(),
        "git_commit": commit,
        "git_dirty": dirty,
        "env_lock_hash": env_lock_hash(),
    }
