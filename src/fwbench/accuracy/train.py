"""Per-framework training loops of the accuracy track, on fwbench.models' shared steps.

Both trainers run the same `training.torch_train_step` / `training.tf_train_step` the speed
harness times (SGD with momentum, mean cross-entropy), so the accuracy track trains exactly the
benchmarked computation. The TensorFlow model never initialises itself: `build_trainer` builds the
torch model with the run's seed and copies its weights in (family.copy_torch_to_tf), so both
frameworks start from identical weights. The loop (`train`) is framework-free: same epoch order
(fwbench.accuracy.data.batches), same learning rate per epoch, same evaluation.

Dropout: none of the accuracy models (cnn, lstm) has dropout. BatchNorm (cnn) evaluates with its
running statistics; torch updates running_var with the unbiased batch variance, Keras with the
biased one (a factor n/(n-1) per update, documented in fwbench.models.cnn) -- a small, known
difference that only touches validation outputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from fwbench.accuracy.data import Split, batches, correct
from fwbench.accuracy.spec import AccuracyCell
from fwbench.models import get_family
from fwbench.models import training
from fwbench.models.base import LABELS

EVAL_BATCH = 256


class Trainer(Protocol):
    framework: str
    params: int

    def set_lr(self, lr: float) -> None: ...

    def step(self, batch: dict[str, np.ndarray]) -> float:
        """One training step; returns the batch loss (before the update) as a synchronised float."""

    def logits(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Eval-mode forward of a batch's inputs."""


class TorchTrainer:
    framework = "torch"

    def __init__(self, model: Any, mode: str, device: str) -> None:
        import torch

        self.model, self.device = model.to(device), device
        self.net = torch.compile(self.model) if mode == "compile" else self.model
        self.optimizer = training.torch_optimizer(self.model)
        self.params = training.count_params_torch(self.model)

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self, batch: dict[str, np.ndarray]) -> float:
        return float(training.torch_train_step(self.net, self.optimizer, training.to_torch(batch, self.device)).item())

    def logits(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return training.torch_infer_step(self.net, training.to_torch(inputs, self.device)).cpu().numpy()


class TFTrainer:
    framework = "tensorflow"

    def __init__(self, model: Any, mode: str, device: str) -> None:
        import tensorflow as tf

        self.model, self.device = model, device
        self.optimizer = training.tf_optimizer(model)
        self.params = training.count_params_tf(model)

        def fn(b: Any) -> Any:
            return training.tf_train_step(model, self.optimizer, b)

        def infer(b: Any) -> Any:
            return training.tf_infer_step(model, b)

        if mode in ("function", "xla"):
            fn = tf.function(fn, jit_compile=mode == "xla")
            infer = tf.function(infer, jit_compile=mode == "xla")  # two shapes: full and last chunk
        self._step, self._infer = fn, infer

    def set_lr(self, lr: float) -> None:
        self.optimizer.learning_rate.assign(lr)

    def step(self, batch: dict[str, np.ndarray]) -> float:
        return float(self._step(training.to_tf(batch, self.device)).numpy())

    def logits(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self._infer(training.to_tf(inputs, self.device)))


def build_trainer(cell: AccuracyCell, config: Any) -> Trainer:
    """The cell's trainer; weights are always torch's seeded initialisation (copied for TensorFlow)."""
    family = get_family(cell.model)
    torch_model = family.build_torch(config, cell.seed)
    if cell.framework == "torch":
        return TorchTrainer(torch_model, cell.mode, cell.device)
    tf_model = family.build_tf(config, cell.seed)
    family.copy_torch_to_tf(torch_model, tf_model)
    return TFTrainer(tf_model, cell.mode, cell.device)


def model_config(cell: AccuracyCell, split: Split) -> Any:
    """The family config for the cell; the LSTM's sequence length is the dataset's."""
    from fwbench.accuracy.data import SEQ_LEN

    family = get_family(cell.model)
    return family.config(cell.size, SEQ_LEN if cell.model == "lstm" else 0)


def evaluate(trainer: Trainer, split: Split) -> float:
    """Validation accuracy (fraction of scored predictions that are right)."""
    hits = total = 0
    for start in range(0, split.n_val, EVAL_BATCH):
        chunk = {k: v[start:start + EVAL_BATCH] for k, v in split.val.items()}
        labels = chunk.pop(LABELS)
        h, n = correct(trainer.logits(chunk), labels, split.first_scored_position)
        hits, total = hits + h, total + n
    return hits / total


@dataclass
class EpochResult:
    epoch: int  # 1-based
    lr: float
    train_loss: float  # mean of the epoch's batch losses
    val_accuracy: float
    wall_s: float  # training steps of this epoch (evaluation excluded)
    eval_s: float
    steps: int


def train(cell: AccuracyCell, split: Split, trainer: Trainer,
          on_epoch: Callable[[EpochResult, float | None], None] | None = None) -> list[EpochResult]:
    """Train for cell.epochs; calls on_epoch(result, first_batch_loss) after every epoch."""
    results: list[EpochResult] = []
    first_loss: float | None = None
    for epoch in range(cell.epochs):
        lr = cell.lr_schedule.lr(epoch)
        trainer.set_lr(lr)
        losses: list[float] = []
        start = time.perf_counter()
        for batch in batches(split, cell.seed, epoch, cell.batch_size):
            losses.append(trainer.step(batch))
        wall = time.perf_counter() - start
        if first_loss is None and losses:
            first_loss = losses[0]
        start = time.perf_counter()
        accuracy = evaluate(trainer, split)
        eval_s = time.perf_counter() - start
        loss = float(np.mean(losses))
        if not np.isfinite(loss):
            raise FloatingPointError(f"train loss is {loss} in epoch {epoch + 1} (diverged)")
        result = EpochResult(epoch + 1, lr, loss, accuracy, wall, eval_s, len(losses))
        results.append(result)
        if on_epoch is not None:
            on_epoch(result, first_loss)
    return results
