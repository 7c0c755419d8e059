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
# How each framework's users run it by default (Keras fit/predict wrap the step in tf.function):
# the modes of a claim's `defaults` contrast (analysis/claims.yaml, fwbench.stats.claims).
DEFAULT_MODES: dict[str, str] = {"torch": "eager", "tensorflow": "function"}
# The modes a claim's `best-of` contrast chooses from, per cell (fwbench.stats.best_of): each framework's
# modes that its users would pick for speed; TF eager never stands for TensorFlow (CLAIMS.md).
BEST_OF_MODES: dict[str, tuple[str, ...]] = {"torch": ("eager", "compile"), "tensorflow": ("function", "xla")}
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

# ---------------------------------------------------------------------------------------------
# Defaults, each defined once: the CLI options, the grid expansion and the statistics read them.

DEFAULT_SEED = 0
DEFAULT_WARMUP = 5
DEFAULT_STEPS = 30
#: Wall-clock limit of one run process (`fwbench run`, `fwbench accuracy`, a grid's accuracy section).
DEFAULT_TIMEOUT_S = 1800.0
#: Intra-op threads of a run when none is given: 2, or fewer on a smaller host.
DEFAULT_MAX_THREADS = 2
# Smallest size that is not the test-only "tiny": cnn small, lstm small, bert mini.
DEFAULT_SIZE: dict[str, str] = {model: next(s for s in SIZES[model] if s != "tiny") for model in MODELS}

# Accuracy track (claim C08). Sized so the default grid's accuracy part (2 frameworks x 2 models x
# 5 seeds) fits in about 5 minutes on the 2-core reference machine (see the report of issue 8).
ACCURACY_DEFAULT_SIZE: dict[str, str] = {"cnn": "tiny", "lstm": "tiny"}
ACCURACY_DEFAULT_EPOCHS: dict[str, int] = {"cnn": 4, "lstm": 6}
ACCURACY_DEFAULT_BATCH_SIZE = 32
ACCURACY_DEFAULT_SEEDS = 5
ACCURACY_DEFAULT_LR_SCHEDULE = "constant"
#: SGD lr per model: the speed benchmark's 0.01 for the CNN; the LSTM needs 0.1 to learn the
#: periodic task within a few epochs. Same value in both frameworks either way.
ACCURACY_DEFAULT_LR: dict[str, float] = {"cnn": 0.01, "lstm": 0.1}

# Statistics: bootstrap and the per-comparison equivalence test (fwbench.stats, `fwbench analyze`).
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000
#: Fewest resamples `fwbench analyze` accepts: fewer make the CI endpoints themselves noisy.
MIN_BOOTSTRAP_RESAMPLES = 100
#: Margin of the per-comparison TOST, as a fraction of the ratio (0.05 = within 5%).
EQUIVALENCE_MARGIN = 0.05

#: Minutes of measuring the default grid may take on the 2-core reference machine (protocol sizing).
MEASURING_BUDGET_MIN = 30.0
