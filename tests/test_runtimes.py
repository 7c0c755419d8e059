"""Deployment runtimes (fwbench.runtimes): every family through every runtime of both frameworks gives
the eager model's logits within the parity gate, or is listed in EXPECTED_UNSUPPORTED and raises
RuntimeUnsupported with its reason: no cell can be skipped silently. Also: the gate rejects a
perturbed output, a model that cannot convert raises RuntimeUnsupported with its error, a step is
deterministic, and the thread count reaches the ONNX Runtime session and the LiteRT interpreter.

Tiny sizes, batch 2, sequence 8; BERT in its default config (dropout 0.1), so every export also
proves it captured eval mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fwbench.models import get_family
from fwbench.runtimes import (PARITY_RTOL, RUNTIMES, Exported, RuntimeUnsupported, export, parity_gate,
                              reference_outputs)

FAMILIES = ("cnn", "cnn_plain", "lstm", "bert")
BATCH = 2
SEQ_LEN = 8
THREADS = 2

# (framework, runtime, family) -> why that runtime cannot convert that family (a substring of the
# RuntimeUnsupported message). Empty: with the pinned versions every cell converts and passes
# (tf2onnx needs fwbench.runtimes.tf_onnx's Erfc handler for BERT's exact GELU, and LiteRT the
# frozen concrete-function path, see runtimes/litert.py). A cell that starts failing must be added
# here with its reason, or the test fails.
EXPECTED_UNSUPPORTED: dict[tuple[str, str, str], str] = {}

CELLS = [(fw, rt, fam) for fw, runtimes in RUNTIMES.items() for rt in runtimes for fam in FAMILIES]

_CACHE: dict[tuple[str, str], tuple[Any, dict[str, np.ndarray], np.ndarray]] = {}


def built(framework: str, family_name: str) -> tuple[Any, dict[str, np.ndarray], np.ndarray]:
    """(eager model, batch, reference logits), built once per framework and family."""
    key = (framework, family_name)
    if key not in _CACHE:
        family = get_family(family_name)
        config = family.config("tiny", SEQ_LEN)
        batch = family.make_batch(config, BATCH, SEQ_LEN, seed=2)
        model = family.build_torch(config, 0) if framework == "torch" else family.build_tf(config, 0)
        _CACHE[key] = (model, batch, reference_outputs(framework, model, batch))
    return _CACHE[key]


@pytest.mark.parametrize(("framework", "runtime", "family"), CELLS, ids=["-".join(c) for c in CELLS])
def test_runtime_matches_eager_or_is_expected_unsupported(framework: str, runtime: str, family: str,
                                                          tmp_path: Path) -> None:
    model, batch, reference = built(framework, family)
    reason = EXPECTED_UNSUPPORTED.get((framework, runtime, family))
    if reason is not None:
        with pytest.raises(RuntimeUnsupported, match=reason) as caught:
            export(framework, runtime, model, batch, THREADS, tmp_path)
        assert str(caught.value).strip()
        return
    exported = export(framework, runtime, model, batch, THREADS, tmp_path)
    first = exported.outputs(exported.step())
    second = exported.outputs(exported.step())
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, second)  # deterministic: the same inputs give the same bytes
    parity = parity_gate(reference, first)
    print(f"PARITY {framework} {runtime} {family}: max_abs_diff={parity.max_abs_diff:.3g} "
          f"tolerance={parity.tolerance:.3g} file_bytes={exported.info['file_bytes']}")
    assert parity.ok, parity
    assert exported.info["runtime"] == runtime
    assert exported.info["framework"] == framework
    assert exported.info["threads"] == THREADS
    assert exported.info["file_bytes"] > 0
    assert all(exported.info["versions"].values()), exported.info["versions"]


def test_parity_gate_rule() -> None:
    reference = np.array([[0.5, -2.0], [3.0, 0.0]], np.float32)
    assert parity_gate(reference, reference).ok
    tolerance = PARITY_RTOL * 3.0  # max|reference| = 3 > 1
    gate = parity_gate(reference, reference + np.float32(0.9 * tolerance))
    assert gate.ok and gate.tolerance == pytest.approx(tolerance)
    gate = parity_gate(reference, reference + np.float32(2 * tolerance))
    assert not gate.ok and gate.max_abs_diff == pytest.approx(2 * tolerance, rel=1e-3)
    small = np.full((2, 2), 0.01, np.float32)  # max|reference| < 1: the tolerance is rtol itself
    assert parity_gate(small, small).tolerance == pytest.approx(PARITY_RTOL)
    shape = parity_gate(reference, reference[:1])
    assert not shape.ok and shape.max_abs_diff == float("inf")
    nan = reference.copy()
    nan[0, 0] = np.nan
    assert not parity_gate(reference, nan).ok


@pytest.mark.parametrize("framework", list(RUNTIMES))
def test_perturbed_output_fails_the_gate(framework: str, tmp_path: Path) -> None:
    model, batch, reference = built(framework, "cnn_plain")
    exported = export(framework, RUNTIMES[framework][0], model, batch, THREADS, tmp_path)
    candidate = exported.outputs(exported.step())
    assert parity_gate(reference, candidate).ok
    gate = parity_gate(reference, candidate + np.float32(1e-2))
    assert not gate.ok
    assert gate.max_abs_diff == pytest.approx(1e-2, rel=1e-2)


@pytest.mark.parametrize(("framework", "runtime"), [("torch", "torch_export"), ("tensorflow", "litert")])
def test_weight_changed_after_export_fails_the_gate(framework: str, runtime: str, tmp_path: Path) -> None:
    """The exported artifact is a snapshot: perturbing one eager weight afterwards must show up."""
    family = get_family("cnn_plain")
    config = family.config("tiny", SEQ_LEN)
    batch = family.make_batch(config, BATCH, SEQ_LEN, seed=2)
    if framework == "torch":
        import torch

        model = family.build_torch(config, 0)
        exported = export(framework, runtime, model, batch, THREADS, tmp_path)
        with torch.no_grad():
            weight = next(p for p in model.parameters() if p.dim() > 1)
            weight.view(-1)[0] += 5.0
    else:
        model = family.build_tf(config, 0)
        exported = export(framework, runtime, model, batch, THREADS, tmp_path)
        kernel = next(v for v in model.trainable_variables if len(v.shape) > 1)
        values = np.asarray(kernel).copy()
        values.reshape(-1)[0] += 5.0
        kernel.assign(values)
    gate = parity_gate(reference_outputs(framework, model, batch), exported.outputs(exported.step()))
    assert not gate.ok
    assert 0 < gate.max_abs_diff < float("inf")


def _raising_models() -> dict[str, Any]:
    import torch

    from fwbench.models.base import keras_module

    keras = keras_module()

    class RaisingTorch(torch.nn.Module):
        def forward(self, images: Any) -> Any:
            raise ValueError("forward deliberately broken")

    class RaisingKeras(keras.Model):
        def call(self, inputs: Any, training: Any = None) -> Any:
            raise ValueError("call deliberately broken")

    return {"torch": RaisingTorch(), "tensorflow": RaisingKeras()}


@pytest.mark.parametrize(("framework", "runtime"), [(fw, rt) for fw, rts in RUNTIMES.items() for rt in rts])
def test_model_that_cannot_convert_raises_runtime_unsupported(framework: str, runtime: str, tmp_path: Path) -> None:
    family = get_family("cnn_plain")
    batch = family.make_batch(family.config("tiny", SEQ_LEN), BATCH, SEQ_LEN, seed=2)
    model = _raising_models()[framework]
    with pytest.raises(RuntimeUnsupported, match="deliberately broken") as caught:
        export(framework, runtime, model, batch, THREADS, tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "Error" in message  # "runtime: Type: first line"
    with pytest.raises(RuntimeUnsupported, match="expected a"):
        export(framework, runtime, object(), batch, THREADS, tmp_path)


def test_export_rejects_unknown_names_and_bad_threads(tmp_path: Path) -> None:
    model, batch, _ = built("torch", "cnn_plain")
    with pytest.raises(ValueError, match="unknown framework"):
        export("jax", "xla", model, batch, 1, tmp_path)
    with pytest.raises(ValueError, match="unknown torch runtime"):
        export("torch", "litert", model, batch, 1, tmp_path)
    with pytest.raises(ValueError, match="threads"):
        export("torch", "torch_export", model, batch, 0, tmp_path)


@pytest.mark.parametrize("framework", list(RUNTIMES))
def test_onnxruntime_session_uses_the_threads(framework: str, tmp_path: Path) -> None:
    import onnxruntime as ort

    model, batch, _ = built(framework, "cnn_plain")
    exported: Exported = export(framework, "onnxruntime", model, batch, 3, tmp_path)
    options = exported.handle.get_session_options()
    assert options.intra_op_num_threads == 3
    assert options.inter_op_num_threads == 1
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert exported.handle.get_providers() == ["CPUExecutionProvider"]
    assert exported.info["provider"] == "CPUExecutionProvider"


def test_litert_interpreter_gets_the_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The interpreter exposes no getter for its thread count, so the constructor call is recorded."""
    import ai_edge_litert.interpreter as litert_interpreter

    calls: list[dict[str, Any]] = []
    real = litert_interpreter.Interpreter

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(litert_interpreter, "Interpreter", spy)
    model, batch, reference = built("tensorflow", "cnn_plain")
    exported = export("tensorflow", "litert", model, batch, 3, tmp_path)
    assert [call.get("num_threads") for call in calls] == [3]
    assert exported.info["threads"] == 3 and exported.info["threads_scope"] == "interpreter"
    assert parity_gate(reference, exported.outputs(exported.step())).ok


def test_importing_the_package_imports_no_framework() -> None:
    import subprocess
    import sys

    code = ("import sys, fwbench.runtimes; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'onnxruntime', 'tf2onnx', 'ai_edge_litert') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_error_summary_is_one_informative_line() -> None:
    from fwbench.runtimes.base import describe

    try:
        try:
            raise ValueError("the root cause\nmore detail")
        except ValueError as inner:
            raise RuntimeError("\x1b[96mwrapper\x1b[0m failed\nnext steps") from inner
    except RuntimeError as outer:
        assert describe(outer) == "RuntimeError: wrapper failed <- ValueError: the root cause"
    tf_style = ValueError('in user code:\n\n    File "x.py", line 1\n    ValueError: Exception encountered when '
                          'calling M.call().\n\n    boom\n\n    Arguments received:')
    assert describe(tf_style) == "ValueError: Exception encountered when calling M.call(). boom"
    assert describe(KeyError()) == "KeyError: (no message)"
