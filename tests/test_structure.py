"""The package's structure as tests: no import cycle, no private name used across modules, one
name per module, and the workflow's paths taken from fwbench.paths.

Imports are read with `ast` (nothing is executed), module level and function level alike: a late
import inside a function that only dodges a cycle is still a cycle.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import yaml

from fwbench import paths

SRC = paths.REPO_ROOT / "src"
PACKAGE = "fwbench"


def modules(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by their __init__)."""
    out = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module an import name lands in (`from fwbench.x import y`: fwbench.x.y if that is a module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, str]]:
    """(imported module, imported name) of every package import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(target, "") for a in node.names if a.name.startswith(PACKAGE)
                      if (target := _resolve(a.name, known))]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(PACKAGE):
            for alias in node.names:
                target = _resolve(f"{node.module}.{alias.name}", known)
                found.append((target, "" if target.endswith(f".{alias.name}") else alias.name))
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    known = modules(src)
    return {m: {t for t, _ in imports(p, known) if t != m} for m, p in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from fwbench.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def late():\n    from fwbench.a import x\n")
    (pkg / "c.py").write_text("import fwbench.a\n")
    assert cycles(import_graph(tmp_path)) == [["fwbench.a", "fwbench.sub.b"]]


def test_no_import_cycle_in_the_package() -> None:
    assert cycles(import_graph()) == []


def test_no_private_name_is_imported_from_another_module() -> None:
    known = modules()
    private = [(module, f"{target}.{name}") for module, path in known.items()
               for target, name in imports(path, known) if name.startswith("_") and target != module]
    assert private == []


def test_no_two_classes_share_a_name_and_no_subpackage_module_shadows_a_top_level_one() -> None:
    """One name, one meaning: `Grid` is the loaded grid file (a run's reference to it is `GridRef`),
    `fwbench.cells` is the cell (its statistics live in `stats.cell_stats`)."""
    known = modules()
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in known.values()]
    classes = Counter(node.name for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef))
    assert [name for name, n in classes.items() if n > 1] == []
    top_level = {name.split(".")[1] for name, path in known.items()
                 if name.count(".") == 1 and path.name != "__init__.py"} - {"cli"}  # modules, not packages
    shadowing = [name for name in known if name.count(".") > 1 and name.rsplit(".", 1)[1] in top_level]
    assert shadowing == []


def _code(path: Path) -> str:
    """The file without comments and docstrings (they may name a path; the code must not)."""
    lines = []
    in_docstring = False
    for line in path.read_text(encoding="utf-8").splitlines():
        quotes = line.count('"""')
        if in_docstring or quotes:
            in_docstring = in_docstring != (quotes % 2 == 1)
            continue
        lines.append(line.split("#", 1)[0])
    return "\n".join(lines)


def test_workflow_files_name_no_derived_path_by_hand() -> None:
    """The Snakefile and the rules read their paths from fwbench.paths; no derived path is typed twice."""
    typed = [paths.DB_REL, paths.PARQUET_REL, paths.ANALYSIS_OUT_REL, paths.FIGURES_REL, paths.REPORT_HTML_REL,
             paths.GENERATED_REL, paths.PAPER_PDF_REL, paths.CROISSANT_REL, "analysis/claims.yaml", "analysis/figures.yaml"]
    files = [paths.REPO_ROOT / "Snakefile", *sorted((paths.REPO_ROOT / "workflow" / "rules").glob("*.smk"))]
    found = [(f.name, p) for f in files for p in typed if p in _code(f)]
    assert found == []


def test_dvc_tracks_the_raw_runs_where_the_package_reads_them() -> None:
    pointers = sorted((paths.REPO_ROOT / paths.RAW_REL).glob("*/*.dvc"))
    for pointer in pointers:
        out = yaml.safe_load(pointer.read_text())["outs"][0]
        assert (pointer.parent / out["path"]).relative_to(paths.REPO_ROOT).as_posix().startswith(paths.RAW_REL + "/")


def test_relative_and_absolute_paths_agree() -> None:
    pairs = {paths.DB_PATH: paths.DB_REL, paths.RAW_DIR: paths.RAW_REL, paths.ANALYSIS_OUT_DIR: paths.ANALYSIS_OUT_REL,
             paths.FIGURES_DIR: paths.FIGURES_REL, paths.REPORT_HTML: paths.REPORT_HTML_REL,
             paths.PAPER_BUILD_DIR: paths.PAPER_BUILD_REL, paths.CLAIMS_FILE: paths.CLAIMS_REL,
             paths.FIGURES_REGISTRY: paths.FIGURES_REGISTRY_REL, paths.GRIDS_DIR: paths.GRIDS_REL,
             paths.SCHEMAS_DIR: paths.SCHEMAS_REL, paths.PARQUET_DIR: paths.PARQUET_REL,
             paths.CROISSANT_PATH: paths.CROISSANT_REL, paths.CITATION_FILE: paths.CITATION_REL}
    assert all(absolute == paths.REPO_ROOT / relative for absolute, relative in pairs.items())
    assert paths.parquet_dir_for(paths.DB_PATH) == paths.REPO_ROOT / paths.PARQUET_REL
    assert (paths.REPO_ROOT / paths.CLAIMS_REL).is_file() and (paths.REPO_ROOT / paths.FIGURES_REGISTRY_REL).is_file()
