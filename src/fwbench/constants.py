"""The vocabulary of a benchmark cell and a run record, defined once.

Every other module (CLI, grid validation, schema, dataset) takes its allowed values from here,
as MLPerf logging takes its keys from one constants module.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

# The claims compare torch and tensorflow (CLAIMS_FRAMEWORKS); jax (Flax NNX models) and keras (the project's
# Keras 3 models driven by Keras's own compile/train_on_batch on a Keras `backend`) are measured beside them (issue 18).
FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow", "jax", "keras")
CLAIMS_FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow")
MODES: dict[str, tuple[str, ...]] = {
    "torch": ("eager", "compile"),
    "tensorflow": ("eager", "function", "xla"),
    "jax": ("eager", "jit"),
    "keras": ("eager", "jit"),
}
# How each framework's users run it by default (Keras fit/predict wrap the step in tf.function; JAX users jit):
# the modes of a claim's `defaults` contrast (analysis/claims.yaml, fwbench.stats.claims).
DEFAULT_MODES: dict[str, str] = {"torch": "eager", "tensorflow": "function", "jax": "jit", "keras": "jit"}
# The Keras 3 backend of a `keras` cell (KERAS_BACKEND, set before keras is imported); every other framework
# runs itself (`native`). Like variant and runtime, the backend enters the cell id only when it is not native.
NATIVE_BACKEND = "native"
KERAS_BACKENDS: tuple[str, ...] = ("tensorflow", "jax", "torch")
BACKENDS: dict[str, tuple[str, ...]] = {"torch": (NATIVE_BACKEND,), "tensorflow": (NATIVE_BACKEND,),
                                        "jax": (NATIVE_BACKEND,), "keras": KERAS_BACKENDS}
ALL_BACKENDS: tuple[str, ...] = (NATIVE_BACKEND, *KERAS_BACKENDS)
# The modes a claim's `best-of` contrast chooses from, per cell (fwbench.stats.best_of): each framework's
# modes that its users would pick for speed; TF eager never stands for TensorFlow (CLAIMS.md).
BEST_OF_MODES: dict[str, tuple[str, ...]] = {"torch": ("eager", "compile"), "tensorflow": ("function", "xla")}
MODELS: tuple[str, ...] = ("cnn", "cnn_plain", "lstm", "bert")
#: Image models (no sequence axis: seq_len 0). cnn is a ResNet with BatchNorm, cnn_plain a VGG-style
#: conv stack without it: a claim about "CNNs" is judged on both families (issue 14).
IMAGE_MODELS: tuple[str, ...] = ("cnn", "cnn_plain")
SIZES: dict[str, tuple[str, ...]] = {
    "cnn": ("tiny", "small", "medium"),
    "cnn_plain": ("tiny", "small", "medium"),
    "lstm": ("tiny", "small", "medium"),
    "bert": ("tiny", "mini", "small"),
}
PHASES: tuple[str, ...] = ("train", "infer")
DEVICES: tuple[str, ...] = ("cpu", "cuda")
DTYPES: tuple[str, ...] = ("float32",)
# unsupported: an inference runtime could not convert or load the model; mismatch: the exported model's outputs
# differ from the eager model's beyond the parity tolerance (fwbench.runtimes.parity_gate). Both keep the error.
STATUSES: tuple[str, ...] = ("ok", "failed", "oom", "timeout", "skipped", "unsupported", "mismatch")
STEP_PHASES: tuple[str, ...] = ("warmup", "measured")
COMPILE_CACHE_STATES: tuple[str, ...] = ("cold", "warm", "none")

DEFAULT_BATCH_SIZE: dict[str, int] = {"cnn": 32, "cnn_plain": 32, "lstm": 32, "bert": 16}
DEFAULT_SEQ_LEN: dict[str, int] = {"cnn": 0, "cnn_plain": 0, "lstm": 64, "bert": 64}

# Implementation variants of a cell (issue 14, "framework or layer?"): the same function (parity-tested
# against `standard`) through a different kernel or layout. A variant of one framework is compared with
# the other framework's standard model; one both frameworks have (no_onednn) with the same variant.
STANDARD_VARIANT = "standard"
NO_ONEDNN = "no_onednn"
# Process-level variants that run the standard model under other kernels (issue 28, "is it the instruction set?"):
# isa_avx2 caps both frameworks' kernel dispatch at AVX2 (as an AVX2-only CPU would run them, oneDNN on in both);
# onednn_on forces TensorFlow's oneDNN on where its default is off. A host that cannot honour one skips it
# (fwbench.harness.environment.variant_unavailable_reason).
ISA_AVX2 = "isa_avx2"
ONEDNN_ON = "onednn_on"
#: Variants that change only the process environment: the model is the standard one.
PROCESS_VARIANTS: tuple[str, ...] = (NO_ONEDNN, ISA_AVX2, ONEDNN_ON)
VARIANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "torch": {
        "cnn": (STANDARD_VARIANT, "channels_last", "no_onednn", ISA_AVX2),
        "cnn_plain": (STANDARD_VARIANT, "channels_last", "no_onednn", ISA_AVX2),
        "lstm": (STANDARD_VARIANT, "no_onednn", ISA_AVX2),
        "bert": (STANDARD_VARIANT, "no_onednn", ISA_AVX2),
    },
    "tensorflow": {
        "cnn": (STANDARD_VARIANT, "fused_bn", "no_onednn", ISA_AVX2, ONEDNN_ON),
        "cnn_plain": (STANDARD_VARIANT, "no_onednn", ISA_AVX2, ONEDNN_ON),
        "lstm": (STANDARD_VARIANT, "hoisted_input", "unroll", "no_onednn", ISA_AVX2, ONEDNN_ON),
        "bert": (STANDARD_VARIANT, "no_onednn", ISA_AVX2, ONEDNN_ON),
    },
    "jax": {model: (STANDARD_VARIANT,) for model in MODELS},
    "keras": {model: (STANDARD_VARIANT,) for model in MODELS},
}
ALL_VARIANTS: tuple[str, ...] = tuple(dict.fromkeys(v for by_model in VARIANTS.values() for vs in by_model.values()
                                                    for v in vs))
#: What each variant changes, for the paper and the data dictionary.
VARIANT_TEXT: dict[str, str] = {
    STANDARD_VARIANT: "the project's model as written (Keras 3 layers; torch.nn modules)",
    "channels_last": "torch: model weights and input images in channels_last (NHWC) memory format",
    "fused_bn": "TensorFlow: BatchNorm through the fused kernel (tf.nn.fused_batch_norm) instead of Keras 3's "
                "moments + normalization ops",
    "hoisted_input": "TensorFlow: the LSTM's input projection hoisted out of the recurrence (one matmul over all "
                     "timesteps, then the recurrence), as PyTorch's CPU LSTM does",
    "unroll": "TensorFlow: Keras's LSTM with unroll=True (the recurrence unrolled into the graph)",
    ISA_AVX2: "kernels capped at AVX2, as an AVX2-only CPU runs them: ONEDNN_MAX_CPU_ISA=AVX2 (both frameworks' "
              "oneDNN), ATEN_CPU_CAPABILITY=avx2 (torch's ATen), MKL_ENABLE_INSTRUCTIONS=AVX2 (MKL) and "
              "TF_ENABLE_ONEDNN_OPTS=1; TensorFlow's Eigen kernels are compiled in and not capped",
    ONEDNN_ON: "TensorFlow: oneDNN forced on (TF_ENABLE_ONEDNN_OPTS=1) on a CPU where TensorFlow's default is off "
               "(no AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX); skipped where it is on by default",
    "no_onednn": "oneDNN off: TF_ENABLE_ONEDNN_OPTS=0 before TensorFlow is imported; torch.backends.mkldnn.enabled = "
                 "False",
}
#: The grid whose runs answer "framework or layer?" (fwbench.stats.layer_ablation): variants beside the
#: standard models, measured in one campaign.
ABLATION_GRID = "ablation"
#: The grid whose runs answer "beyond two frameworks" (fwbench.stats.framework_contrasts): JAX and Keras beside
#: their torch/TensorFlow references, measured in one campaign.
FRAMEWORKS_GRID = "frameworks"
# Inference runtimes (issue 15): `native` runs the framework's own mode; the others run the model exported
# from the framework's default mode (DEFAULT_MODES: torch eager, TF function), inference cells only, CPU.
NATIVE_RUNTIME = "native"
RUNTIMES: dict[str, tuple[str, ...]] = {
    "torch": (NATIVE_RUNTIME, "torch_export", "torchscript", "onnxruntime"),
    "tensorflow": (NATIVE_RUNTIME, "savedmodel", "litert", "onnxruntime"),
    "jax": (NATIVE_RUNTIME,),
    "keras": (NATIVE_RUNTIME,),
}
ALL_RUNTIMES: tuple[str, ...] = tuple(dict.fromkeys(r for rs in RUNTIMES.values() for r in rs))
#: Longest sequence the `unroll` variant accepts: the unrolled graph grows with every timestep.
UNROLL_MAX_SEQ_LEN = 128

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

#: Per-run percentiles of the measured step times (runs.p50_ms ...; cell_stats.p50_ms_median ...): at batch 1
#: and about 1,000 measured steps, request latency as MLPerf's SingleStream scenario reports it.
LATENCY_PERCENTILES: tuple[int, ...] = (50, 90, 99)

#: Minutes of measuring the default grid may take on the 2-core reference machine (protocol sizing).
MEASURING_BUDGET_MIN = 30.0
