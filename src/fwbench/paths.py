"""Where the repository's data files live. The package is installed editable from the repo."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(os.environ.get("FWBENCH_ROOT", Path(__file__).resolve().parents[2]))
SCHEMAS_DIR = REPO_ROOT / "workflow" / "schemas"
GRIDS_DIR = REPO_ROOT / "workflow" / "grids"
ANALYSIS_DIR = REPO_ROOT / "analysis"
DATA_DIR = REPO_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
ENV_DIR = REPO_ROOT / "environments"
