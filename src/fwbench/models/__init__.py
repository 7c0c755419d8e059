"""Model zoo: cnn, cnn_plain, lstm and bert, each built identically in PyTorch and TensorFlow.

`get_family(name)` returns a ModelFamily (see base.py). Importing this package imports neither
torch nor tensorflow; the family modules import them only inside their builders.
"""

from __future__ import annotations

import importlib

from fwbench import constants as C
from fwbench.models.base import IMAGES, LABELS, ModelFamily

__all__ = ["IMAGES", "LABELS", "ModelFamily", "get_family"]

_MODULES: dict[str, str] = {
    "cnn": "fwbench.models.cnn",
    "cnn_plain": "fwbench.models.cnn_plain",
    "lstm": "fwbench.models.lstm",
    "bert": "fwbench.models.bert",
}


def get_family(model: str) -> ModelFamily:
    """The family registered under `model`; ValueError naming the allowed models otherwise."""
    if model not in C.MODELS or model not in _MODULES:
        raise ValueError(f"unknown model {model!r}; allowed: {', '.join(C.MODELS)}")
    return importlib.import_module(_MODULES[model]).FAMILY
