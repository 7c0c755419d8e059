"""The hardware class comes from the recorded flags only: never a guess for a fingerprint without them."""

from __future__ import annotations

from fwbench.harness.hardware_class import UNKNOWN, hardware_class, isa_tier

ZEN3 = ["avx", "avx2", "fma", "sse4_2"]
ZEN5 = ZEN3 + ["avx512_bf16", "avx512_vnni", "avx512bw", "avx512f", "avx512vl"]
SAPPHIRE_RAPIDS = ZEN5 + ["amx_bf16", "amx_int8", "amx_tile", "avx512_fp16"]


def test_the_best_tier_whose_flags_are_all_present_wins() -> None:
    assert [isa_tier(f) for f in (SAPPHIRE_RAPIDS, ZEN5, ZEN3)] == ["avx512_amx", "avx512_vnni", "avx2"]
    assert isa_tier(ZEN3 + ["avx512f"]) == "avx512"
    assert isa_tier(["sse4_2"]) == "sse"


def test_no_flags_is_unknown_and_a_gpu_host_is_its_accelerator() -> None:
    assert hardware_class({"host_processor_flags": None}) == UNKNOWN
    assert hardware_class({}) == UNKNOWN
    gpu = {"host_processor_flags": ZEN3, "accelerator_model_name": "NVIDIA H200", "accelerator_count": 1}
    assert hardware_class(gpu) == "cuda:NVIDIA H200"
    assert hardware_class({**gpu, "accelerator_count": 0}) == "avx2"
