"""The figure registry: analysis/figures.yaml lists every figure (id, function, title, caption).

Adding a figure is one function plus one YAML entry; the renderer, the HTML report and the paper all
iterate this list, so none of them names a figure.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from fwbench.paths import FIGURES_REGISTRY

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = ("id", "function", "title", "caption")


class FigureRegistryError(ValueError):
    """A malformed figures.yaml entry; names the file, the entry and the field."""


@dataclass(frozen=True)
class FigureSpec:
    id: str
    function: str  # "module:function", module relative to fwbench.figures unless dotted from fwbench
    title: str
    caption: str
    in_paper: bool = True

    def resolve(self) -> Callable[..., Any]:
        module_name, _, func_name = self.function.partition(":")
        if not module_name.startswith("fwbench."):
            module_name = f"fwbench.figures.{module_name}"
        try:
            return getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError) as exc:
            raise FigureRegistryError(f"figure {self.id}: cannot import function {self.function!r} ({exc})") from exc


def load_registry(path: str | Path = FIGURES_REGISTRY) -> list[FigureSpec]:
    """Parse and validate figures.yaml; raises FigureRegistryError naming the bad entry and field."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    entries = doc.get("figures") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise FigureRegistryError(f"{path}: expected a non-empty list under 'figures'")
    specs: list[FigureSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}: figures[{i}]"
        if not isinstance(entry, dict):
            raise FigureRegistryError(f"{where}: expected a mapping with keys {', '.join(_KEYS)}")
        unknown = sorted(set(entry) - set(_KEYS) - {"in_paper"})
        if unknown:
            raise FigureRegistryError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(_KEYS)}, in_paper")
        for key in _KEYS:
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise FigureRegistryError(f"{where}: field {key!r} must be a non-empty string")
        if not _ID.match(entry["id"]):
            raise FigureRegistryError(f"{where}: id {entry['id']!r} must match {_ID.pattern}")
        if entry["id"] in seen:
            raise FigureRegistryError(f"{where}: duplicate id {entry['id']!r}")
        if ":" not in entry["function"]:
            raise FigureRegistryError(f"{where}: function {entry['function']!r} must be 'module:function'")
        seen.add(entry["id"])
        specs.append(FigureSpec(id=entry["id"], function=entry["function"], title=entry["title"].strip(),
                                caption=" ".join(entry["caption"].split()),
                                in_paper=bool(entry.get("in_paper", True))))
    return specs
