"""`fwbench run` input validation: exit 2, a message naming the option and allowed values, no file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fwbench import constants as C
from fwbench.cli import build_parser, main
from fwbench.harness.cli import DEFAULT_THREADS, build_cell

BASE = ["run", "--framework", "torch", "--mode", "eager", "--model", "cnn", "--phase", "train"]


def _replace(args: list[str], option: str, value: str) -> list[str]:
    out = list(args)
    if option in out:
        out[out.index(option) + 1] = value
    else:
        out += [option, value]
    return out


BAD = [
    ("--framework", "mxnet", ["torch", "tensorflow", "jax", "keras"]),
    ("--mode", "xla", ["eager", "compile"]),
    ("--model", "gpt", ["cnn", "lstm", "bert"]),
    ("--size", "mini", ["tiny", "small", "medium"]),
    ("--phase", "eval", ["train", "infer"]),
    ("--device", "tpu", ["cpu", "cuda"]),
    ("--dtype", "float16", ["float32"]),
    ("--batch-size", "0", ["positive integer"]),
    ("--threads", "-1", ["positive integer"]),
    ("--steps", "0", ["positive integer"]),
    ("--warmup", "-2", ["integer >= 0"]),
    ("--seed", "-1", ["integer >= 0"]),
    ("--timeout", "0", ["positive number"]),
    ("--seq-len", "8", ["0 for model cnn"]),
    ("--batch-size", "two", ["invalid integer"]),
]


@pytest.mark.parametrize(("option", "value", "allowed"), BAD, ids=[f"{o}={v}" for o, v, _ in BAD])
def test_bad_option_exits_2_names_option_and_allowed_values(
    option: str, value: str, allowed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.json"
    with pytest.raises(SystemExit) as exc:
        main(_replace(BASE, option, value) + ["--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err
    for word in allowed:
        assert word in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_tensorflow_mode_message_lists_tensorflow_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _replace(_replace(BASE, "--framework", "tensorflow"), "--mode", "compile")
    with pytest.raises(SystemExit) as exc:
        main(args + ["--out", str(tmp_path / "r.json")])
    assert exc.value.code == 2
    assert "allowed: eager, function, xla" in capsys.readouterr().err


def test_partial_grid_options_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(BASE + ["--grid-name", "smoke", "--out", str(tmp_path / "r.json")])
    assert exc.value.code == 2
    assert "--grid-name/--grid-version/--grid-hash" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_missing_out_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(BASE)
    assert exc.value.code == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.parametrize("model", C.MODELS)
def test_defaults_are_smallest_non_tiny_size_and_model_defaults(model: str) -> None:
    args = build_parser().parse_args(_replace(BASE, "--model", model) + ["--out", "x.json"])
    cell = build_cell(args)
    assert cell.size == C.DEFAULT_SIZE[model] == {"cnn": "small", "cnn_plain": "small", "lstm": "small", "bert": "mini"}[model]
    assert cell.batch_size == C.DEFAULT_BATCH_SIZE[model]
    assert cell.seq_len == C.DEFAULT_SEQ_LEN[model]
    assert (cell.device, cell.dtype, cell.threads) == ("cpu", "float32", DEFAULT_THREADS)
    assert isinstance(args, argparse.Namespace) and args.seed == 0


def test_system_id_command_prints_ten_hex(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["system-id"]) == 0
    printed = capsys.readouterr().out.strip()
    assert len(printed) == 10 and int(printed, 16) >= 0
