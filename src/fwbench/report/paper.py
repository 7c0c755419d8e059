"""Build the paper: write the generated numbers and tables, then compile paper/paper.typ with typst.

The Typst source reads <build>/generated/numbers.json, tables.json and <build>/figures/manifest.json
through sys.inputs, so the same source builds from any dataset and any build directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fwbench.figures.data import FigureData
from fwbench.paths import PAPER_BUILD_DIR, PAPER_DIR
from fwbench.records import write_json_atomic
from fwbench.report.numbers import compute_numbers
from fwbench.report.tables import compute_tables


@dataclass(frozen=True)
class PaperBuild:
    pdf: Path
    numbers: Path
    tables: Path


def write_generated(data: FigureData, generated_dir: str | Path) -> tuple[Path, Path]:
    """numbers.json and tables.json for the Typst source."""
    out = Path(generated_dir)
    numbers, tables = out / "numbers.json", out / "tables.json"
    write_json_atomic(numbers, compute_numbers(data))
    write_json_atomic(tables, compute_tables(data))
    return numbers, tables


def _rooted(path: Path, root: Path) -> str:
    """A Typst path: absolute paths in Typst are relative to the project root."""
    return "/" + path.resolve().relative_to(root).as_posix()


def creation_time(data: FigureData) -> datetime | None:
    """The PDF's creation date: SOURCE_DATE_EPOCH when set (reproducible-builds convention), else the
    end of the newest run, so two builds from the same runs give the same bytes; None without runs."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    runs = data.runs
    if "finished_at" not in runs.columns or runs["finished_at"].drop_nulls().is_empty():
        return None
    newest = runs["finished_at"].drop_nulls().max()
    newest = newest if isinstance(newest, datetime) else datetime.fromisoformat(str(newest))
    return newest.replace(microsecond=0, tzinfo=newest.tzinfo or timezone.utc)  # typst takes whole seconds


def compile_paper(paper_dir: str | Path, generated_dir: str | Path, figures_dir: str | Path,
                  pdf: str | Path, created: datetime | None = None) -> Path:
    """Compile paper_dir/paper.typ to pdf with the given generated and figure directories.

    `created` is the PDF's creation date (None: typst's clock, which changes the bytes every build).
    """
    import typst

    source = Path(paper_dir).resolve() / "paper.typ"
    gen, figs = Path(generated_dir).resolve(), Path(figures_dir).resolve()
    manifest = figs / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest}: no figure manifest; run `fwbench figures` first")
    root = Path(os.path.commonpath([source.parent, gen, figs]))
    target = Path(pdf)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        typst.compile(str(source), output=str(tmp), root=str(root), timestamp=created,
                      sys_inputs={"gen": _rooted(gen, root), "figs": _rooted(figs, root)})
    except Exception as exc:  # typst raises its own error type with the source location
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"{source}: typst compilation failed: {exc}") from exc
    tmp.replace(target)
    return target


def build_paper(data: FigureData, build_dir: str | Path = PAPER_BUILD_DIR, paper_dir: str | Path = PAPER_DIR,
                figures_dir: str | Path | None = None) -> PaperBuild:
    """Generated files, then the PDF at <build_dir>/paper.pdf (figures from figures_dir or <build>/figures)."""
    build = Path(build_dir)
    numbers, tables = write_generated(data, build / "generated")
    pdf = compile_paper(paper_dir, build / "generated", Path(figures_dir) if figures_dir else build / "figures",
                        build / "paper.pdf", created=creation_time(data))
    return PaperBuild(pdf=pdf, numbers=numbers, tables=tables)
