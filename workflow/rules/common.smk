# Shared state of the workflow: the validated grid, its jobs (fwbench.jobs), this host's system id
# and the paths of every stage (fwbench.paths). Everything here is read once, when the workflow is
# parsed, before any job runs; a bad grid stops here with a message naming file, field, allowed values.

from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate

from fwbench import campaigns
from fwbench import grid as fwgrid
from fwbench import jobs as fwjobs
from fwbench import paths
from fwbench.harness.fingerprint import system_id

min_version("9.0")

try:
    GRID = fwgrid.load_grid(config["grid"], grids_dir=Path(workflow.basedir) / paths.GRIDS_REL, validate=validate,
                            cores=config["cores"])
except fwgrid.GridError as exc:
    raise WorkflowError(str(exc)) from None


def config_flag(key: str) -> bool:
    """A yes/no config value; `--config key=false` arrives as the string 'false'."""
    value = str(config[key]).lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise WorkflowError(f"--config {key}={config[key]!r}: allowed: true, false")
    return value in ("true", "1", "yes")


MEASURE = config_flag("measure")
SYSTEM_ID = config["system_id"] or system_id()
PLAN = fwjobs.plan(GRID)  # speed jobs repetition-major (the interleaved order), then the accuracy track
CELLS = fwgrid.cells_by_id(GRID)  # speed cell id -> GridCell, in grid order
ACCURACY = {job.cell_id: job for job in PLAN.accuracy}  # accuracy cell id -> AccuracyJob

RAW_ROOT = paths.RAW_REL
HOST_RAW = campaigns.host_dir(RAW_ROOT, GRID.name, SYSTEM_ID)  # every campaign of this grid on this host
# The campaign this invocation measures: this host's newest unfinished campaign of the grid, else a
# new one (config campaign=new forces a new one, campaign=<id> resumes or extends that one).
# measure=false builds everything from the runs already present (a fresh clone with the shipped
# reference runs), without measuring this host: no campaign. Job steps on a cluster parse this file
# again: they take the campaign the planning process resolved (campaigns.CAMPAIGN_ENV, passed on).
try:
    CAMPAIGN, CAMPAIGN_REASON = (campaigns.resolve_for_workflow(HOST_RAW, PLAN, config["campaign"]) if MEASURE
                                 else (None, ""))
except campaigns.CampaignError as exc:
    raise WorkflowError(str(exc)) from None
if MEASURE:
    workflow.register_envvars(campaigns.CAMPAIGN_ENV)
if MEASURE:  # each repetition round in the campaign's random order (fwbench.jobs.interleaved: RMIT)
    PLAN = fwjobs.interleaved(PLAN, CAMPAIGN)
SPEED_JOBS = {(job.cell_id, job.repetition): job for job in PLAN.speed}
RAW = f"{HOST_RAW}/{CAMPAIGN}"  # one campaign's runs (one DVC-tracked directory)
CAMPAIGN_RECORD = f"{RAW}/{campaigns.CAMPAIGN_FILE}"
RUN_RECORDS = [campaigns.record_path(RAW, job) for job in PLAN.jobs] if MEASURE else []
if MEASURE:
    logger.info(f"grid {GRID.name}, system {SYSTEM_ID}: {CAMPAIGN_REASON}: {RAW}")
# Runs already present from other campaigns, hosts or grids (e.g. `dvc pull`ed reference runs) are pooled.
POOLED_RECORDS = sorted(set(str(p) for p in Path(RAW_ROOT).rglob("rep-*.json")) - set(RUN_RECORDS))
COMPILE_CACHE = str(paths.compile_cache_for(GRID.name, paths.COMPILE_CACHE_REL))  # one torch.compile cache per grid
LOGS = f"{paths.LOGS_REL}/{GRID.name}"

DB = paths.DB_REL
PARQUET = paths.PARQUET_REL
ANALYSIS = paths.ANALYSIS_OUT_REL
CROISSANT = paths.CROISSANT_REL
FIGURES = paths.FIGURES_REL
REPORT_HTML = paths.REPORT_HTML_REL
PAPER_GENERATED = paths.GENERATED_REL
PAPER = paths.PAPER_PDF_REL
PAPER_SOURCES = sorted(str(p) for p in Path(paths.PAPER_SOURCE_REL).rglob("*.typ")
                       if not p.is_relative_to(paths.PAPER_BUILD_REL))

# Timing runs must never overlap. The profiles set `--resources bench_slot=1`; a plain
# `snakemake --cores all` without a profile gets the same limit here.
if "bench_slot" not in workflow.global_resources:
    workflow.register_resource("bench_slot", 1)


wildcard_constraints:
    cell="|".join(CELLS),  # only this grid's cells: records of removed cells stay plain inputs
    rep=r"\d+",


localrules:
    all,
    runs,
    dataset,
    analysis,
    figures,
    paper,
