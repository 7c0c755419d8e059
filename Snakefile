# fwbench workflow: `snakemake --cores all` reproduces the dataset, the analysis and the paper.
# Choose a grid with `--config grid=NAME` (workflow/grids/NAME.yaml; default: default).
# This file only sets config defaults and includes the stages; the logic lives in the package
# (fwbench.jobs plans the grid's jobs, `fwbench run|accuracy|ingest|analyze|figures|paper` do the work).

config.setdefault("grid", "default")
config.setdefault("cores", None)  # resolves threads "all"; default: this host's logical cores
config.setdefault("system_id", None)  # default: this host's id; set it when jobs run on other nodes
config.setdefault("measure", True)  # false: build from the runs already in data/raw (e.g. `dvc pull`ed)
config.setdefault("campaign", None)  # default: resume this host's unfinished campaign, else a new one; new; or an id


include: "workflow/rules/common.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/paper.smk"


rule all:
    """Default target: the paper (and with it every stage before it) and the dataset's Croissant description."""
    input:
        PAPER,
        CROISSANT,
