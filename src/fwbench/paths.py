"""Where everything lives, written once: the package's inputs and every stage's outputs.

Each location has a repository-relative form (`*_REL`, what the Snakemake rules, dvc.yaml and the
Makefile use; a test checks that they agree) and an absolute form under REPO_ROOT (what the
`fwbench` commands default to, so they work from any directory). The package is installed
editable from the repo; FWBENCH_ROOT points it at another checkout (the workflow tests do).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(os.environ.get("FWBENCH_ROOT", Path(__file__).resolve().parents[2]))

# Inputs: data the package reads.
SCHEMAS_REL = "workflow/schemas"
GRIDS_REL = "workflow/grids"
ANALYSIS_REL = "analysis"  # claims.yaml, figures.yaml, views.sql
CLAIMS_REL = f"{ANALYSIS_REL}/claims.yaml"
FIGURES_REGISTRY_REL = f"{ANALYSIS_REL}/figures.yaml"
ENV_REL = "environments"
DEV_VENV_REL = ".venv-dev"  # the reference validators' venv (`make setup-dev`), kept out of the benchmark venv
PAPER_SOURCE_REL = "paper"  # paper.typ and sections/
CITATION_REL = "CITATION.cff"  # license, version and citation of the dataset

# Raw runs (inputs of the dataset, versioned with DVC) and every derived output (Snakemake's).
RAW_REL = "data/raw"
DB_REL = "data/results.duckdb"
PARQUET_REL = "data/parquet"  # always the `parquet` directory next to the database
ANALYSIS_OUT_REL = "data/analysis"
CROISSANT_REL = "data/croissant.json"  # Croissant description of data/parquet + data/analysis
PAPER_BUILD_REL = f"{PAPER_SOURCE_REL}/build"
FIGURES_REL = f"{PAPER_BUILD_REL}/figures"
REPORT_HTML_REL = f"{PAPER_BUILD_REL}/report.html"
GENERATED_REL = f"{PAPER_BUILD_REL}/generated"
PAPER_PDF_REL = f"{PAPER_BUILD_REL}/paper.pdf"
LOGS_REL = "logs"
COMPILE_CACHE_REL = ".cache/inductor"  # one torch.compile (TORCHINDUCTOR_CACHE_DIR) cache per grid below it

SCHEMAS_DIR = REPO_ROOT / SCHEMAS_REL
GRIDS_DIR = REPO_ROOT / GRIDS_REL
ANALYSIS_DIR = REPO_ROOT / ANALYSIS_REL
CLAIMS_FILE = REPO_ROOT / CLAIMS_REL
FIGURES_REGISTRY = REPO_ROOT / FIGURES_REGISTRY_REL
ENV_DIR = REPO_ROOT / ENV_REL
DEV_VENV_DIR = REPO_ROOT / DEV_VENV_REL
PAPER_DIR = REPO_ROOT / PAPER_SOURCE_REL
CITATION_FILE = REPO_ROOT / CITATION_REL
DATA_DIR = REPO_ROOT / "data"
RAW_DIR = REPO_ROOT / RAW_REL
DB_PATH = REPO_ROOT / DB_REL
PARQUET_DIR = REPO_ROOT / PARQUET_REL
ANALYSIS_OUT_DIR = REPO_ROOT / ANALYSIS_OUT_REL
CROISSANT_PATH = REPO_ROOT / CROISSANT_REL
PAPER_BUILD_DIR = REPO_ROOT / PAPER_BUILD_REL
FIGURES_DIR = REPO_ROOT / FIGURES_REL
REPORT_HTML = REPO_ROOT / REPORT_HTML_REL
COMPILE_CACHE_DIR = REPO_ROOT / COMPILE_CACHE_REL


def parquet_dir_for(db_path: str | os.PathLike[str]) -> Path:
    """Parquet files live next to the database: data/results.duckdb -> data/parquet."""
    return Path(db_path).parent / Path(PARQUET_REL).name


def compile_cache_for(grid_name: str | None, root: str | os.PathLike[str] = COMPILE_CACHE_DIR) -> Path:
    """The torch.compile cache of one grid (`adhoc` for runs outside a grid): runs of a grid share it."""
    return Path(root) / (grid_name or "adhoc")
