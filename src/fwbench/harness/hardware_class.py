"""The hardware class of a host: the instruction-set tier its kernels can use, from its fingerprint.

Both frameworks pick kernels by the CPU's instruction set: TensorFlow turns oneDNN on by default on
Linux only with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX (tensorflow/core/util/port.cc), and
PyTorch's ATen dispatches to its AVX512, AVX2 or default kernels (`get_cpu_capability()`). Hosts
of one class run the same kernels, so a claim's answer can be compared within a class and
contrasted between classes. A class is derived from the recorded flags only, never guessed: a
fingerprint without flags (fingerprint v1) is `unknown`; a GPU host is `cuda:<model>`. What the
frameworks actually used is recorded per run beside it (TF's `onednn`, torch's `cpu_capability`).
"""

from __future__ import annotations

from typing import Any, Mapping

UNKNOWN = "unknown"
#: (class, the flags a CPU needs for it), best first: the first tier whose flags are all present wins.
ISA_TIERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("avx512_amx", frozenset({"avx512f", "amx_tile"})),
    ("avx512_vnni", frozenset({"avx512f", "avx512_vnni"})),
    ("avx512", frozenset({"avx512f"})),
    ("avx2", frozenset({"avx2", "fma"})),
    ("avx", frozenset({"avx"})),
)
BASELINE = "sse"  # x86 flags recorded, none of the tiers above
CUDA_PREFIX = "cuda:"
CPU_CLASSES: tuple[str, ...] = (*(name for name, _ in ISA_TIERS), BASELINE)
#: CPU flags with which TensorFlow turns oneDNN on by default on Linux (tensorflow/core/util/port.cc,
#: IsMKLEnabled: AVX512_VNNI, AVX512_BF16, AVX_VNNI, AMX). avx_vnni is not among the fingerprint's recorded
#: flags (it would change every system id), so this is read from the live /proc/cpuinfo, not from a record.
TF_ONEDNN_DEFAULT_FLAGS: tuple[str, ...] = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16",
                                            "amx_int8")


def isa_tier(flags: list[str] | None) -> str:
    """The best ISA tier whose flags are all in `flags`; UNKNOWN when no flags were recorded."""
    if not flags:
        return UNKNOWN
    present = set(flags)
    return next((name for name, needed in ISA_TIERS if needed <= present), BASELINE)


def tf_onednn_default_flags(flags: list[str]) -> list[str]:
    """The flags in `flags` that make TensorFlow's oneDNN default on (empty: TF runs its Eigen kernels)."""
    present = set(flags)
    return [flag for flag in TF_ONEDNN_DEFAULT_FLAGS if flag in present]


def hardware_class(system: Mapping[str, Any]) -> str:
    """A fingerprint's class: `cuda:<accelerator model>` on a GPU host, else the CPU's ISA tier."""
    accelerator = system.get("accelerator_model_name")
    if accelerator and (system.get("accelerator_count") or 0) > 0:
        return f"{CUDA_PREFIX}{accelerator}"
    return isa_tier(system.get("host_processor_flags"))
