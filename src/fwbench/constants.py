"""The vocabulary of a benchmark cell and a run record, defined once.

Every other module (CLI, grid validation, schema, dataset) takes its allowed values from here,
as MLPerf logging takes its keys from one constants module.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow")
MODES: dict[str, tuple[str, ...]] = {
    "torch": ("eager", "compile"),
    "tensorflow": ("eager", "function", "xla"),
}
MODELS: tuple[str, ...] = ("cnn", "lstm", "bert")
SIZES: dict[str, tuple[str, ...]] = {
    "cnn": ("tiny", "small", "medium"),
    "lstm": ("tiny", "small", "medium"),
    "bert": ("tiny", "mini", "small"),
}
PHASES: tuple[str, ...] = ("train", "infer")
DEVICES: tuple[str, ...] = ("cpu", "cuda")
DTYPES: tuple[str, ...] = ("float32",)
STATUSES: tuple[str, ...] = ("ok", "failed", "oom", "timeout", "skipped")
STEP_PHASES: tuple[str, ...] = ("warmup", "measured")
COMPILE_CACHE_STATES: tuple[str, ...] = ("cold", "warm", "none")

DEFAULT_BATCH_SIZE: dict[str, int] = {"cnn": 32, "lstm": 32, "bert": 16}
DEFAULT_SEQ_LEN: dict[str, int] = {"cnn": 0, "lstm": 64, "bert": 64}
