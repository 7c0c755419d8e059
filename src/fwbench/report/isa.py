"""The paper's "Is it the instruction set?" table and sentences, from the isa_effects table.

Per training workload: what capping a higher-class host's kernels at AVX2 (isa_avx2) does to the torch/TF
ratio measured natively the same day, beside the native ratio of every other hardware class.
"""

from __future__ import annotations

from typing import Any

from fwbench import constants as C
from fwbench.figures import common as F
from fwbench.figures.data import FigureData
from fwbench.harness.hardware_class import CPU_CLASSES
from fwbench.report import fmt
from fwbench.stats.isa_effects import ISA_VARIANTS, WORKLOAD

NEEDED = ["campaign_id", "system_id", "hardware_class", "model", "size", "phase", "variant", "ratio", "ratio_low",
          "ratio_high"]
VARIANT_LABEL = {C.STANDARD_VARIANT: "native", C.ISA_AVX2: "capped at AVX2", C.ONEDNN_ON: "TF oneDNN forced on"}
WORKLOAD_KEY = tuple(f for f in WORKLOAD if f != "device")  # the table is CPU only: no device column


def isa_rows(data: FigureData) -> list[dict[str, Any]]:
    """The isa_effects rows, in the analysis's order; [] without the table."""
    return [] if F.require(data.isa_effects, NEEDED, "isa_effects") else data.isa_effects.to_dicts()


def _workload(row: dict[str, Any]) -> str:
    shape = f"batch {row['batch_size']}" + (f", seq {row['seq_len']}" if row["seq_len"] else "")
    return f"{row['model']}-{row['size']} {row['phase']} ({shape})"


def _reported(row: dict[str, Any]) -> str:
    parts = []
    if row.get("torch_cpu_capability"):
        parts.append(f"torch {row['torch_cpu_capability']}")
    if row.get("torch_onednn_isa"):
        parts.append(f"torch oneDNN: {row['torch_onednn_isa']}")
    if row.get("tensorflow_onednn") is not None:
        parts.append(f"TF oneDNN {'on' if row['tensorflow_onednn'] else 'off'}")
    return "; ".join(parts) or "–"


def isa_table(data: FigureData) -> dict[str, Any]:
    rows = [[_workload(r), r["hardware_class"], r["system_id"], r["campaign_id"], VARIANT_LABEL[r["variant"]],
             fmt.ci(r["ratio"], r["ratio_low"], r["ratio_high"]), _reported(r)] for r in isa_rows(data)]
    return fmt.table(["workload", "class", "host", "campaign", "kernels", "torch/TF step time [95% CI]",
                      "frameworks reported"], rows,
                     "no isa_effects rows: no campaign has measured the isa_avx2 or onednn_on variant" if not rows else
                     "ratio = torch eager / TF function median step time (< 1: torch faster), each campaign on its own")


def _class_rank(hardware_class: str) -> int:
    return CPU_CLASSES.index(hardware_class) if hardware_class in CPU_CLASSES else len(CPU_CLASSES)


def _value(row: dict[str, Any]) -> str:
    return fmt.ci(row["ratio"], row["ratio_low"], row["ratio_high"])


def isa_sentence(rows: list[dict[str, Any]]) -> str | None:
    """One workload: each campaign with a variant, its native and variant ratios (best class first), then the
    native ratios of every other campaign."""
    by_campaign: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_campaign.setdefault(r["campaign_id"], {})[r["variant"]] = r
    capped = sorted(((c, v) for c, v in by_campaign.items() if C.ISA_AVX2 in v or C.ONEDNN_ON in v),
                    key=lambda cv: (_class_rank(next(iter(cv[1].values()))["hardware_class"]), cv[0]))
    if not capped:
        return None
    parts = []
    for campaign, variants in capped:
        first = next(iter(variants.values()))
        native = variants.get(C.STANDARD_VARIANT)
        moves = [f"{VARIANT_LABEL[v].replace('capped', 'capping it')} gives {_value(variants[v])}"
                 for v in ISA_VARIANTS[1:] if v in variants]
        parts.append(f"on {first['hardware_class']} ({first['system_id']}, campaign {campaign}) the native ratio is "
                     f"{_value(native) if native else '– (not measured)'}; " + ", ".join(moves))
    described = {c for c, _ in capped}
    others = sorted((r for r in rows if r["variant"] == C.STANDARD_VARIANT and r["campaign_id"] not in described),
                    key=lambda r: (_class_rank(r["hardware_class"]), r["campaign_id"]))
    native_elsewhere = [f"{r['hardware_class']} {_value(r)} ({r['system_id']}, {r['campaign_id']})" for r in others]
    tail = ("; natively, " + ", ".join(native_elsewhere)) if native_elsewhere else \
        "; no other campaign measured this workload"
    return f"{_workload(rows[0])}: " + "; ".join(parts) + tail + "."


def isa_numbers(data: FigureData) -> dict[str, Any]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in isa_rows(data):
        groups.setdefault(tuple(r[k] for k in WORKLOAD_KEY), []).append(r)
    sentences = [s for s in (isa_sentence(g) for g in groups.values()) if s]
    return {"sentences": sentences, "n_workloads": str(len(sentences))}
