"""The accuracy cell: what defines one training run of the accuracy track, validated, with its id.

Kept apart from fwbench.cells.Cell (speed cells) because an accuracy run has a dataset, a number
of epochs, a learning-rate schedule and a seed instead of a phase and a step count; errors reuse
CellError so the CLI and ingest name the field and its allowed values the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from fwbench import constants as C
from fwbench.cells import CellError, check_choice, check_fields, check_positive
from fwbench.ids import short_hash
from fwbench.models.training import LEARNING_RATE, MOMENTUM

KIND = "accuracy"
#: Models of the accuracy track and the one dataset each trains on (see fwbench.accuracy.data).
DATASETS: dict[str, str] = {"cnn": "digits", "lstm": "periodic"}
MODELS: tuple[str, ...] = tuple(DATASETS)
LR_SCHEDULES: tuple[str, ...] = ("constant", "step")
#: Step schedule: lr is multiplied by STEP_GAMMA at each milestone fraction of the epochs.
STEP_GAMMA = 0.1
STEP_MILESTONES: tuple[float, ...] = (0.5, 0.75)
#: Mode used when none is given: torch eager, and tf.function for TensorFlow (Keras's own default
#: for fit()); the numerics are the same in every mode, only the wall time differs.
DEFAULT_MODE: dict[str, str] = {"torch": "eager", "tensorflow": "function"}


@dataclass(frozen=True)
class LRSchedule:
    """SGD with momentum (fwbench.models.training's optimizer) and its per-epoch learning rate."""

    name: str = "constant"
    base_lr: float = LEARNING_RATE
    momentum: float = MOMENTUM
    gamma: float = STEP_GAMMA
    milestones: tuple[int, ...] = ()

    @classmethod
    def make(cls, name: str, epochs: int, base_lr: float = LEARNING_RATE) -> "LRSchedule":
        if name not in LR_SCHEDULES:
            raise CellError("lr_schedule", name, ", ".join(LR_SCHEDULES))
        if not base_lr > 0:
            raise CellError("lr", base_lr, "a positive number")
        if name == "constant":
            return cls(name="constant", base_lr=base_lr, gamma=1.0)
        milestones = tuple(sorted({max(1, round(f * epochs)) for f in STEP_MILESTONES}))
        return cls(name="step", base_lr=base_lr, milestones=milestones)

    def lr(self, epoch: int) -> float:
        """Learning rate of 0-based `epoch`."""
        return self.base_lr * self.gamma ** sum(1 for m in self.milestones if epoch >= m)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["milestones"] = list(self.milestones)
        return data


@dataclass(frozen=True)
class AccuracyCell:
    framework: str
    mode: str
    model: str
    size: str
    dataset: str
    epochs: int
    batch_size: int
    lr_schedule: LRSchedule
    seed: int
    threads: int
    device: str = "cpu"

    def __post_init__(self) -> None:
        validate(self)

    @property
    def cell_id(self) -> str:
        """12 hex digits of sha256 over the canonical cell (seed included: one cell = one training run)."""
        return short_hash(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["lr_schedule"] = self.lr_schedule.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "") -> "AccuracyCell":
        names = check_fields(cls, data, source)
        try:
            sched = dict(data["lr_schedule"])
            sched["milestones"] = tuple(sched.get("milestones", ()))
            return cls(**{**data, "lr_schedule": LRSchedule(**sched)})
        except (TypeError, KeyError) as exc:
            raise CellError("cell", data, f"all of {names} ({exc})", source) from exc


def validate(cell: AccuracyCell) -> None:
    """Raise CellError naming the first field outside its allowed values."""
    check_choice("framework", cell.framework, C.CLAIMS_FRAMEWORKS)
    check_choice("mode", cell.mode, C.MODES[cell.framework])
    check_choice("model", cell.model, MODELS)
    check_choice("size", cell.size, C.SIZES[cell.model])
    check_choice("dataset", cell.dataset, (DATASETS[cell.model],))
    check_choice("device", cell.device, C.DEVICES)
    check_choice("lr_schedule", cell.lr_schedule.name, LR_SCHEDULES)
    check_positive("epochs", cell.epochs)
    check_positive("batch_size", cell.batch_size)
    check_positive("threads", cell.threads)
    check_positive("seed", cell.seed, allow_zero=True)
