"""ISA-capped variants (issue 28): isa_avx2 and onednn_on run the standard model under other kernels.

They are process-level switches, so parity is checked where they act: the torch/TF parity suite
(test_models_parity, tiny sizes) is rerun in a process with each variant's environment, and a harness run
checks that the frameworks report obeying the cap (torch's ATen capability, oneDNN's dispatch log). A host
that cannot honour a variant skips it with the reason (planted flags here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fwbench import constants as C
from fwbench.cells import Cell
from fwbench.harness.environment import VARIANT_ENV, variant_unavailable_reason, worker_env
from fwbench.harness.fingerprint import cpu_flags
from fwbench.harness.onednn_probe import parse_verbose
from fwbench.harness.record import RunContext
from fwbench.harness.runner import run_cell
from fwbench.records import read_record

ROOT = Path(__file__).resolve().parents[1]
AVX2_HOST = ["sse4_2", "avx", "avx2", "fma"]
VNNI_HOST = [*AVX2_HOST, "avx512f", "avx512_vnni"]
HOST_FLAGS = cpu_flags()
HONOURS_AVX2 = HOST_FLAGS is not None and {"avx2", "fma"} <= set(HOST_FLAGS)


def test_avx2_cap_needs_avx2_and_fma() -> None:
    assert variant_unavailable_reason(C.ISA_AVX2, "cpu", AVX2_HOST) is None
    assert variant_unavailable_reason(C.ISA_AVX2, "cpu", VNNI_HOST) is None
    reason = variant_unavailable_reason(C.ISA_AVX2, "cpu", ["sse4_2", "avx"])
    assert reason is not None and "lacks avx2, fma" in reason


def test_onednn_on_is_skipped_where_tensorflow_already_runs_onednn() -> None:
    assert variant_unavailable_reason(C.ONEDNN_ON, "cpu", AVX2_HOST) is None
    reason = variant_unavailable_reason(C.ONEDNN_ON, "cpu", VNNI_HOST)
    assert reason is not None and "avx512_vnni" in reason and "on by default" in reason
    assert variant_unavailable_reason(C.ONEDNN_ON, "cpu", [*AVX2_HOST, "avx_vnni"]) is not None


@pytest.mark.parametrize("variant", [C.ISA_AVX2, C.ONEDNN_ON])
def test_isa_variants_need_a_cpu_with_readable_flags(variant: str) -> None:
    assert "CPU kernel setting" in (variant_unavailable_reason(variant, "cuda", AVX2_HOST) or "")
    assert "unreadable" in (variant_unavailable_reason(variant, "cpu", None) or "")


@pytest.mark.parametrize("variant", [C.STANDARD_VARIANT, C.NO_ONEDNN, "channels_last"])
def test_other_variants_are_never_skipped_for_the_cpu(variant: str) -> None:
    assert variant_unavailable_reason(variant, "cpu", None) is None


def test_worker_env_carries_each_variants_caps() -> None:
    capped = worker_env(2, 0, "cpu", None, C.ISA_AVX2)
    assert {k: capped[k] for k in VARIANT_ENV[C.ISA_AVX2]} == {
        "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "TF_ENABLE_ONEDNN_OPTS": "1"}
    assert worker_env(2, 0, "cpu", None, C.ONEDNN_ON)["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert worker_env(2, 0, "cpu", None, C.NO_ONEDNN)["TF_ENABLE_ONEDNN_OPTS"] == "0"
    standard = worker_env(2, 0, "cpu", None)
    assert not {"TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"} & set(standard)


def test_verbose_log_gives_the_isa_and_the_implementations() -> None:
    text = "\n".join([
        "onednn_verbose,v1,info,oneDNN v3.12.0 (commit 80afa71)",
        "onednn_verbose,v1,info,cpu,isa:Intel AVX2",
        "not a oneDNN line,info,cpu,isa:ignored",
        "onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx2,forward_training,src:f32,,,mb8,0.03",
        "onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32,,,16x3,0.01",
        "onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx2,forward_training,src:f32,,,mb8,0.02",
    ])
    assert parse_verbose(text) == {"isa": "Intel AVX2", "implementations": ["convolution:jit:avx2", "reorder:jit:uni"]}
    assert parse_verbose("no oneDNN here") == {"isa": None, "implementations": []}


def _run(tmp_path: Path, framework: str, mode: str, variant: str) -> dict:
    cell = Cell(framework=framework, mode=mode, model="cnn", size="tiny", phase="train", batch_size=2, seq_len=0,
                device="cpu", threads=1, variant=variant)
    out = tmp_path / f"{framework}-{variant}.json"
    run_cell(RunContext(cell=cell, seed=0, warmup=1, steps=2, timeout_s=300), out, log=None)
    return read_record(out)


def test_isa_avx2_run_reports_the_kernels_it_used(tmp_path: Path) -> None:
    """torch says AVX2 (ATen), its oneDNN says AVX2 and ran no AVX-512 implementation; a host without AVX2
    skips the cell with the reason instead."""
    record = _run(tmp_path, "torch", "eager", C.ISA_AVX2)
    if not HONOURS_AVX2:
        assert record["status"] == "skipped" and "isa_avx2" in record["error"]
        return
    assert record["status"] == "ok", record["error"]
    assert record["system"]["framework_build"]["cpu_capability"] == "AVX2"
    dispatch = record["onednn_dispatch"]
    assert dispatch["isa"] == "Intel AVX2"
    assert dispatch["implementations"] and not any("avx512" in name for name in dispatch["implementations"])


def test_onednn_on_run_is_skipped_or_runs_with_onednn(tmp_path: Path) -> None:
    record = _run(tmp_path, "tensorflow", "function", C.ONEDNN_ON)
    expected = variant_unavailable_reason(C.ONEDNN_ON, "cpu", HOST_FLAGS)
    if expected:
        assert record["status"] == "skipped" and record["error"] == expected
    else:
        assert record["status"] == "ok", record["error"]
        assert record["onednn"] is True
        assert record["system"]["framework_build"]["onednn_opts_env"] == "1"


@pytest.mark.skipif(not HONOURS_AVX2, reason="this CPU cannot honour the AVX2 cap")
def test_parity_holds_under_each_variants_environment() -> None:
    """The torch/TF parity suite (tiny sizes) passes in a process with isa_avx2's and onednn_on's environment:
    the capped and the oneDNN kernels compute the standard function to the usual tolerances."""
    procs = []
    for variant in (C.ISA_AVX2, C.ONEDNN_ON):
        env = {**os.environ, **VARIANT_ENV[variant], "TF_CPP_MIN_LOG_LEVEL": "2"}
        procs.append((variant, subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "tiny",
             str(ROOT / "tests" / "test_models_parity.py")],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    for variant, proc in procs:
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{variant}:\n{output[-3000:]}"
        assert " passed" in output and "failed" not in output
