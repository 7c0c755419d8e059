"""Accuracy track (issue 8): datasets, identical starts across frameworks, real tiny runs, CLI.

Tolerances: first-batch loss |torch - tf| <= 1e-5 * max(1, |loss|) (the same bound as
test_models_parity's one-step loss); after a few SGD steps on real data the losses still agree
within 1e-4 relative (float32 reductions differ in order between the frameworks).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from fwbench.accuracy import data as D
from fwbench.accuracy.spec import DATASETS, AccuracyCell, LRSchedule
from fwbench.cells import CellError
from fwbench.cli import main
from fwbench.paths import SCHEMAS_DIR
from fwbench.records import record_errors

LOSS_RTOL = 1e-5
STEPS_RTOL = 1e-4


def _cell(framework: str, model: str, **overrides) -> AccuracyCell:
    epochs = overrides.pop("epochs", 1)
    values = dict(framework=framework, mode="eager", model=model, size="tiny", dataset=DATASETS[model],
                  epochs=epochs, batch_size=16, lr_schedule=LRSchedule.make("constant", epochs, 0.01),
                  seed=3, threads=2)
    values.update(overrides)
    return AccuracyCell(**values)


# --- datasets -------------------------------------------------------------------------------

def test_digits_is_32x32x3_standardised_with_a_fixed_split() -> None:
    split = D.digits()
    assert split.train[D.IMAGES].shape[1:] == (32, 32, 3)
    assert split.n_train + split.n_val == 1797
    assert abs(float(split.train[D.IMAGES].mean())) < 1e-3
    assert np.array_equal(split.train[D.IMAGES][..., 0], split.train[D.IMAGES][..., 2])
    assert set(np.unique(split.val[D.LABELS])) == set(range(10))


def test_periodic_sequences_repeat_up_to_the_noise() -> None:
    stream = D.periodic_sequences(400, seed=1)
    assert stream.shape == (400, D.SEQ_LEN + 1) and stream.max() < D.ALPHABET
    # a token equals the one a period back most of the time: for some period p <= MAX_PERIOD
    agree = max(np.mean(stream[:, p:] == stream[:, :-p]) for p in range(2, D.MAX_PERIOD + 1))
    assert agree > 0.5
    assert np.array_equal(stream, D.periodic_sequences(400, seed=1))


def test_epoch_order_depends_on_seed_and_epoch_only() -> None:
    assert np.array_equal(D.epoch_order(100, 1, 0), D.epoch_order(100, 1, 0))
    assert not np.array_equal(D.epoch_order(100, 1, 0), D.epoch_order(100, 1, 1))
    assert not np.array_equal(D.epoch_order(100, 1, 0), D.epoch_order(100, 2, 0))
    split = D.digits()
    sizes = {len(b[D.LABELS]) for b in D.batches(split, 0, 0, 32)}
    assert sizes == {32}  # the last partial batch is dropped


def test_step_schedule_drops_the_lr_at_its_milestones() -> None:
    sched = LRSchedule.make("step", 8, 0.1)
    assert sched.milestones == (4, 6)
    assert [round(sched.lr(e), 6) for e in range(8)] == [0.1] * 4 + [0.01] * 2 + [0.001] * 2
    assert LRSchedule.make("constant", 8).lr(7) == LRSchedule.make("constant", 8).base_lr


def test_cell_validation_names_the_field() -> None:
    with pytest.raises(CellError, match="dataset"):
        _cell("torch", "cnn", dataset="periodic")
    with pytest.raises(CellError, match="mode"):
        _cell("torch", "cnn", mode="xla")
    cell = _cell("torch", "lstm")
    assert AccuracyCell.from_dict(json.loads(json.dumps(cell.to_dict()))) == cell


# --- identical starts ------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["cnn", "lstm"])
def test_identical_initial_weights_give_identical_first_batch_losses(model: str) -> None:
    from fwbench.accuracy.train import build_trainer, model_config

    split = D.load(DATASETS[model])
    losses = {}
    for framework in ("torch", "tensorflow"):
        cell = _cell(framework, model)
        trainer = build_trainer(cell, model_config(cell, split))
        trainer.set_lr(cell.lr_schedule.lr(0))
        losses[framework] = [trainer.step(b) for _, b in zip(range(3), D.batches(split, cell.seed, 0, 16))]
    torch_l, tf_l = np.array(losses["torch"]), np.array(losses["tensorflow"])
    assert abs(torch_l[0] - tf_l[0]) <= LOSS_RTOL * max(1.0, abs(torch_l[0]))
    np.testing.assert_allclose(tf_l, torch_l, rtol=STEPS_RTOL)


# --- real tiny runs ---------------------------------------------------------------------------

@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_tiny_run_per_framework_writes_a_schema_valid_record(framework: str, tmp_path: Path) -> None:
    out = tmp_path / "rec.json"
    code = main(["accuracy", "--framework", framework, "--model", "cnn", "--epochs", "1", "--batch-size", "64",
                 "--seed", "1", "--out", str(out), "--grid-name", "smoke", "--grid-version", "1",
                 "--grid-hash", "abc"])
    assert code == 0
    record = json.loads(out.read_text())
    assert record_errors(record, "accuracy") == []
    assert record["status"] == "ok" and record["kind"] == "accuracy"
    assert len(record["epochs"]) == 1 and 0.0 <= record["final_val_accuracy"] <= 1.0
    assert record["first_batch_loss"] > 0 and record["timings"]["train_s"] > 0
    assert record["cell"]["mode"] == ("eager" if framework == "torch" else "function")


def test_timeout_still_writes_a_record(tmp_path: Path) -> None:
    out = tmp_path / "rec.json"
    code = main(["accuracy", "--framework", "torch", "--model", "lstm", "--timeout", "0.5", "--keep-going",
                 "--out", str(out)])
    assert code == 0
    record = json.loads(out.read_text())
    assert record_errors(record, "accuracy") == []
    assert record["status"] == "timeout" and "timed out" in record["error"]
    assert record["final_val_accuracy"] is None


# --- CLI bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "names"), [
    (["--framework", "jax", "--model", "cnn"], ["--framework", "torch"]),
    (["--framework", "torch", "--model", "bert"], ["--model", "cnn", "lstm"]),
    (["--framework", "torch", "--model", "cnn", "--size", "mini"], ["--size", "tiny"]),
    (["--framework", "torch", "--model", "cnn", "--mode", "xla"], ["--mode", "eager", "compile"]),
    (["--framework", "torch", "--model", "cnn", "--epochs", "0"], ["--epochs", "positive"]),
    (["--framework", "torch", "--model", "cnn", "--lr", "-1"], ["--lr", "positive"]),
    (["--framework", "torch", "--model", "cnn", "--lr-schedule", "cosine"], ["--lr-schedule", "step"]),
    (["--framework", "torch", "--model", "cnn", "--grid-name", "g"], ["--grid-name"]),
])
def test_bad_input_exits_2_names_the_option_and_writes_nothing(argv, names, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rec.json"
    with pytest.raises(SystemExit) as exc:
        main(["accuracy", *argv, "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    for name in names:
        assert name in err
    assert not out.exists()


def test_accuracy_schema_shares_the_run_schema_system_object() -> None:
    run = yaml.safe_load((SCHEMAS_DIR / "run.schema.yaml").read_text())["properties"]["system"]
    acc = yaml.safe_load((SCHEMAS_DIR / "accuracy.schema.yaml").read_text())["properties"]["system"]
    run.pop("description"), acc.pop("description")
    assert acc == run
