"""JAX backend: the Flax NNX models, modes eager (op by op) and jit (jax.jit of the whole step).

Threads: JAX has no intra-op thread setting; XLA's CPU client sizes its pool by the cores the process may
be scheduled on, so `configure` pins the process to `threads` cores before the client exists (importing jax
does not create it: the first array or device query does). The record's `measured_cpu_s` over `measured_s`
checks that the run kept no more cores busy. Device: arrays are placed with jax.device_put and steps run
under jax.default_device of the cell's device. Sync: jax.block_until_ready of the step's output. Device
memory: the GPU's peak_bytes_in_use since the process started (JAX cannot reset it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fwbench import constants as C
from fwbench.harness.backends import Workload
from fwbench.harness.environment import limit_cpu_affinity

MB = 2**20


class JaxBackend:
    framework = "jax"

    def __init__(self) -> None:
        self.jax: Any = None
        self.device = "cpu"
        self.cores: list[int] = []

    def import_framework(self) -> None:
        import jax

        self.jax = jax

    def configure(self, threads: int, seed: int, device: str) -> None:
        self.cores = limit_cpu_affinity(threads)
        self.device = device  # weights are seeded by the model builders (nnx.Rngs(seed))

    def _device(self, device: str) -> Any:
        return self.jax.devices("gpu" if device == "cuda" else "cpu")[0]

    def unavailable_reason(self, device: str) -> str | None:
        if device != "cuda":
            return None
        try:
            self._device(device)
        except RuntimeError as exc:
            return f"no CUDA device: jax.devices('gpu') failed ({str(exc).splitlines()[0]})"
        return None

    def device_scope(self, device: str) -> Any:
        return self.jax.default_device(self._device(device))

    def build(self, family: Any, config: Any, batch_np: dict[str, Any], mode: str, phase: str, device: str,
              seed: int, variant: str = C.STANDARD_VARIANT) -> Workload:
        from fwbench.models import training_jax as TJ

        model = family.build_jax(config, seed)
        batch = TJ.to_jax(batch_np, device)
        step = TJ.make_jax_step(model, phase, jit=mode == "jit", device=device)  # the step's state beside the batch
        return Workload(step=lambda: step(batch), params=TJ.count_params_jax(model))

    def onednn_enabled(self) -> bool | None:
        return None  # XLA's CPU backend has no user-visible oneDNN switch

    def onednn_dispatch(self, run_step: Callable[[], Any]) -> dict[str, Any] | None:
        return None  # XLA's CPU backend does not run oneDNN primitives the harness can see

    def sync(self, output: Any) -> None:
        self.jax.block_until_ready(output)

    def reset_device_peak(self) -> None:
        if self.device == "cuda":
            self.jax.effects_barrier()

    def device_peak_mb(self) -> float | None:
        if self.device != "cuda" or self.jax is None:
            return None
        stats = self._device("cuda").memory_stats() or {}
        return stats["peak_bytes_in_use"] / MB if "peak_bytes_in_use" in stats else None

    def is_oom(self, exc: BaseException) -> bool:
        return isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in str(exc)

    def compile_cache_state(self) -> str | None:
        return None


BACKEND = JaxBackend()
