"""Writing generated text files: atomically, and only when the text changed.

Generated metadata (datapackage.json, croissant.json, the data dictionary) is rewritten on every
stage run; leaving an unchanged file untouched keeps its mtime, so Snakemake and DVC see no change.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text_if_changed(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` via a temp file and rename, unless the file already holds exactly that text."""
    target = Path(path)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target
