"""The dataset's table definitions, written once.

Every column names its source field in the run record (a dotted path) or says how it is
derived; the DDL, the flattening of records, the data dictionary (data/README.md) and the
Frictionless datapackage.json are all generated from these definitions, so they cannot drift.
Descriptions of sourced columns come from the record's schema (workflow/schemas/run.schema.yaml,
or accuracy.schema.yaml for the accuracy track's tables); a source inside a list of objects is
written through the list's name (`epochs.val_accuracy` = each item's `val_accuracy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fwbench.constants import LATENCY_PERCENTILES
from fwbench.schemas import load_schema


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    source: str | None = None  # dotted path in the run record; None = derived (see note)
    unit: str = ""
    note: str = ""  # description of a derived column, or text added to the schema's description
    nullable: bool = True
    schema: str = "run"  # the schema `source` refers to (workflow/schemas/<schema>.schema.yaml)
    json: str = ""  # "object" or "array": a VARCHAR holding JSON text of that kind (metadata declares it so)


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()  # hive partition columns of the Parquet export
    parquet: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        cols = [f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns]
        if self.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  " + ",\n  ".join(cols) + "\n)"


# Package names whose versions become runs and accuracy_runs columns (first key present in system.packages wins).
VERSION_PACKAGES: dict[str, tuple[str, ...]] = {
    "torch_version": ("torch",),
    "tensorflow_version": ("tensorflow", "tensorflow-cpu"),
    "numpy_version": ("numpy",),
    "jax_version": ("jax",),
    "keras_version": ("keras",),
}


def version_columns(**kwargs: Any) -> tuple[Column, ...]:
    """The *_version columns of VERSION_PACKAGES (kwargs: e.g. the accuracy schema), described once."""
    return tuple(Column(name, "VARCHAR", note=f"system.packages[{' or '.join(repr(p) for p in packages)}] (the first "
                                              "present; null when absent).", **kwargs)
                 for name, packages in VERSION_PACKAGES.items())


def _record_identity(schema: str) -> tuple[Column, ...]:
    """The leading columns every run table shares: where the record is, which grid, host and cell.

    `schema` names the record schema the sources refer to (their descriptions come from it).
    """
    def col(name: str, type_: str, source: str | None = None, **kwargs: Any) -> Column:
        return Column(name, type_, source, schema=schema, **kwargs)

    return (
        col("run_id", "VARCHAR", "run_id", nullable=False),
        col("path", "VARCHAR", note="Path of the raw record, relative to the raw directory.", nullable=False),
        col("content_hash", "VARCHAR", note="sha256 of the raw record's bytes (decides re-ingest).", nullable=False),
        col("schema_version", "INTEGER", "schema_version"),
        col("kind", "VARCHAR", "kind"),
        col("grid_name", "VARCHAR", "grid.name", note="Grid name; null for an ad-hoc run."),
        col("grid_version", "VARCHAR", "grid.version", note="Grid version (as text)."),
        col("grid_hash", "VARCHAR", "grid.hash"),
        col("system_id", "VARCHAR", "system.system_id", nullable=False),
        col("campaign_id", "VARCHAR", nullable=False,
            note="The campaign (one execution of a grid on one machine): the record's campaign_id, else its "
                 "directory data/raw/<grid>/<system-id>/<campaign-id>/...; 'unassigned' for a record of the "
                 "pre-campaign layout (<grid>/<system-id>/<cell-id>/rep-<k>.json)."),
        col("cell_id", "VARCHAR", "cell_id", nullable=False),
        col("scheduler_job_id", "VARCHAR", "system.scheduler.job_id",
            note="The batch job (Slurm job id) that ran the record; null when not run by a scheduler."),
        col("repetition", "INTEGER", "repetition"),
        col("framework", "VARCHAR", "cell.framework"),
        col("mode", "VARCHAR", "cell.mode"),
        col("model", "VARCHAR", "cell.model"),
        col("size", "VARCHAR", "cell.size"),
    )


HARDWARE_CLASS_NOTE = (
    "The hardware class (fwbench.harness.hardware_class): the CPU's instruction-set tier from "
    "system.host_processor_flags (avx512_amx, avx512_vnni, avx512, avx2, avx, sse), cuda:<model> on a GPU host, "
    "'unknown' for a fingerprint without flags (v1). Hosts of one class run the same kernels.")

RUNS = Table(
    name="runs",
    description="One row per process run (one raw record), whatever its status: failures are data.",
    primary_key=("run_id",),
    partition_by=("grid_name", "system_id"),
    columns=(
        *_record_identity("run"),
        Column("position", "INTEGER", "position",
               note="The round is `repetition`; null for ad-hoc runs and records made before it existed."),
        Column("phase", "VARCHAR", "cell.phase"),
        Column("batch_size", "INTEGER", "cell.batch_size", unit="samples"),
        Column("seq_len", "INTEGER", "cell.seq_len", unit="tokens"),
        Column("device", "VARCHAR", "cell.device"),
        Column("threads", "INTEGER", "cell.threads"),
        Column("dtype", "VARCHAR", "cell.dtype"),
        Column("variant", "VARCHAR", note="cell.variant: the implementation variant (fwbench.constants.VARIANTS); "
                                          "'standard' for records made before variants existed."),
        Column("runtime", "VARCHAR", note="cell.runtime: the inference runtime (fwbench.constants.RUNTIMES); 'native' "
                                          "for records made before runtimes existed."),
        Column("backend", "VARCHAR", note="cell.backend: the Keras 3 backend of a keras cell (tensorflow, jax, torch; "
                                          "fwbench.constants.BACKENDS); 'native' for every other framework and for "
                                          "records made before backends existed."),
        Column("parity_max_abs_diff", "DOUBLE", "parity.max_abs_diff"),
        Column("parity_tolerance", "DOUBLE", "parity.tolerance"),
        Column("onednn", "BOOLEAN", "onednn"),
        Column("hardware_class", "VARCHAR", nullable=False, note=HARDWARE_CLASS_NOTE),
        Column("torch_cpu_capability", "VARCHAR", "system.framework_build.cpu_capability",
               note="The ATen kernels torch dispatched to in the run (torch.backends.cpu.get_cpu_capability(): "
                    "AVX512, AVX2, DEFAULT ...), capped by ATEN_CPU_CAPABILITY; null in runs without torch and in "
                    "records made before framework builds were recorded."),
        Column("onednn_isa", "VARCHAR", "onednn_dispatch.isa",
               note="The ISA oneDNN reported using in one untimed step after the measured ones (its verbose "
                    "header, lowered by ONEDNN_MAX_CPU_ISA in the isa_avx2 variant); null where no oneDNN primitive "
                    "ran, where the framework exposes no dispatch log (TensorFlow, JAX) and in older records."),
        Column("seed", "BIGINT", "seed"),
        Column("status", "VARCHAR", "status", nullable=False),
        Column("error", "VARCHAR", "error"),
        Column("started_at", "TIMESTAMP", "started_at", unit="UTC", note="Stored as UTC without zone."),
        Column("finished_at", "TIMESTAMP", "finished_at", unit="UTC", note="Stored as UTC without zone."),
        Column("warmup_steps", "INTEGER", "protocol.warmup_steps", unit="steps"),
        Column("measured_steps", "INTEGER", "protocol.measured_steps", unit="steps"),
        Column("timeout_s", "DOUBLE", "protocol.timeout_s", unit="s"),
        Column("import_s", "DOUBLE", "timings.import_s", unit="s"),
        Column("build_s", "DOUBLE", "timings.build_s", unit="s"),
        Column("first_step_s", "DOUBLE", "timings.first_step_s", unit="s"),
        Column("warmup_s", "DOUBLE", "timings.warmup_s", unit="s"),
        Column("measured_s", "DOUBLE", "timings.measured_s", unit="s"),
        Column("measured_cpu_s", "DOUBLE", "timings.measured_cpu_s", unit="s",
               note="CPU seconds of the worker (all threads) over the measured steps; measured_cpu_s / measured_s "
                    "is the number of cores the run kept busy (at most `threads` plus noise). Null before it existed."),
        Column("throughput", "DOUBLE", "throughput", unit="samples/s"),
        Column("mem_method", "VARCHAR", "memory.method"),
        Column("rss_after_import_mb", "DOUBLE", "memory.rss_after_import_mb", unit="MB"),
        Column("peak_rss_mb", "DOUBLE", "memory.peak_rss_mb", unit="MB"),
        Column("peak_rss_above_import_mb", "DOUBLE", "memory.peak_rss_above_import_mb", unit="MB"),
        Column("device_peak_mb", "DOUBLE", "memory.device_peak_mb", unit="MB"),
        Column("params", "BIGINT", "model_info.params", unit="parameters"),
        Column("flops_per_sample", "DOUBLE", "model_info.flops_per_sample", unit="FLOP/sample"),
        Column("compile_cache_state", "VARCHAR", "compile_cache.state",
               note="State of the on-disk compile cache at the start of the run: cold, warm or none."),
        Column("compile_cache_dir", "VARCHAR", "compile_cache.dir", note="Compile cache directory."),
        Column("n_warmup", "INTEGER", unit="steps", note="Number of warmup step times recorded."),
        Column("n_measured", "INTEGER", unit="steps", note="Number of measured step times recorded."),
        Column("median_step_ms", "DOUBLE", unit="ms",
               note="Plain median of all measured steps (no steady-state detection; the stats stage adds it). "
                    "Null when no step was measured."),
        *(Column(f"p{q}_ms", "DOUBLE", unit="ms",
                 note=f"{q}th percentile of all measured steps (numpy linear interpolation): with batch 1 and "
                      f"enough steps, the run's p{q} request latency. Null when no step was measured.")
          for q in LATENCY_PERCENTILES),
        *version_columns(),
        Column("git_commit", "VARCHAR", "system.git_commit", note="Commit of the fwbench checkout that ran."),
        Column("env_lock_hash", "VARCHAR", "system.env_lock_hash", note="Hash of the environment lock file."),
        Column("canary_ms", "DOUBLE", "machine_state.canary_ms", unit="ms", note="Null in runs before campaigns."),
        Column("steal_pct", "DOUBLE", "machine_state.steal_pct", unit="%", note="Null in runs before campaigns."),
        Column("iowait_pct", "DOUBLE", "machine_state.iowait_pct", unit="%", note="Null in runs before campaigns."),
        Column("other_cpu_s", "DOUBLE", "machine_state.other_cpu_s", unit="s", note="Null in runs before campaigns."),
        Column("load1_before", "DOUBLE", "machine_state.load1_before", note="Null in runs before campaigns."),
        Column("load1_after", "DOUBLE", "machine_state.load1_after", note="Null in runs before campaigns."),
    ),
)

STEPS = Table(
    name="steps",
    description="One row per recorded step time of an ingested run (join to runs on run_id).",
    partition_by=("grid_name", "system_id"),
    columns=(
        Column("run_id", "VARCHAR", note="The run (runs.run_id).", nullable=False),
        Column("step_index", "INTEGER", note="0-based index of the step within its phase.", nullable=False),
        Column("phase", "VARCHAR", note="'warmup' or 'measured' (after the first step).", nullable=False),
        Column("ms", "DOUBLE", unit="ms", note="Synchronised wall time of the step.", nullable=False),
    ),
)

_SYSTEM_COLUMNS: tuple[Column, ...] = (
    Column("system_id", "VARCHAR", "system.system_id", nullable=False),
    Column("host_processor_model_name", "VARCHAR", "system.host_processor_model_name", note="CPU model name."),
    Column("host_processor_core_count", "INTEGER", "system.host_processor_core_count", unit="cores"),
    Column("host_memory_capacity_gb", "DOUBLE", "system.host_memory_capacity_gb", unit="GB",
           note="Host memory capacity."),
    Column("accelerator_model_name", "VARCHAR", "system.accelerator_model_name", note="GPU model (null if none)."),
    Column("accelerator_count", "INTEGER", "system.accelerator_count", unit="devices", note="Number of GPUs."),
    Column("accelerator_driver_version", "VARCHAR", "system.accelerator_driver_version", note="GPU driver version."),
    Column("cuda_version", "VARCHAR", "system.cuda_version", note="CUDA version (null without GPU)."),
    Column("operating_system", "VARCHAR", "system.operating_system", note="Operating system."),
    Column("python_version", "VARCHAR", "system.python_version", note="Python version."),
    Column("packages", "VARCHAR", "system.packages", json="object", note="Stored as JSON text with sorted keys."),
    Column("git_commit", "VARCHAR", "system.git_commit", note="Commit of the fwbench checkout that ran."),
    Column("env_lock_hash", "VARCHAR", "system.env_lock_hash", note="Hash of the environment lock file."),
    Column("scheduler", "VARCHAR", "system.scheduler", json="object",
           note="The batch job that ran the record (name, job_id, node, cluster, partition) as JSON text; null when "
                "not run by a scheduler (runs.scheduler_job_id holds the job id)."),
    Column("extra", "VARCHAR", json="object",
           note="Fingerprint fields beyond the schema's required ones, as JSON text (null when none)."),
    Column("fingerprint_version", "INTEGER", "system.fingerprint_version",
           note="Null (absent) means 1: the record was made before fingerprint v2."),
    Column("host_processor_vendor", "VARCHAR", "system.host_processor_vendor"),
    Column("host_processor_family", "INTEGER", "system.host_processor_family"),
    Column("host_processor_model", "INTEGER", "system.host_processor_model"),
    Column("host_processor_stepping", "INTEGER", "system.host_processor_stepping"),
    Column("host_processor_flags", "VARCHAR", "system.host_processor_flags", json="array", note="Stored as JSON text."),
    Column("host_processor_l1d_cache_kib", "INTEGER", "system.host_processor_l1d_cache_kib", unit="KiB"),
    Column("host_processor_l1i_cache_kib", "INTEGER", "system.host_processor_l1i_cache_kib", unit="KiB"),
    Column("host_processor_l2_cache_kib", "INTEGER", "system.host_processor_l2_cache_kib", unit="KiB"),
    Column("host_processor_l3_cache_kib", "INTEGER", "system.host_processor_l3_cache_kib", unit="KiB"),
    Column("host_hypervisor_vendor", "VARCHAR", "system.host_hypervisor_vendor"),
    Column("host_processor_microcode", "VARCHAR", "system.host_processor_microcode"),
    Column("host_kernel_release", "VARCHAR", "system.host_kernel_release"),
    Column("host_cpu_frequency_governor", "VARCHAR", "system.host_cpu_frequency_governor"),
    Column("numpy_blas", "VARCHAR", "system.numpy_blas", json="array", note="Stored as JSON text."),
    Column("framework_build", "VARCHAR", "system.framework_build", json="object",
           note="Stored as JSON text; in `systems`, that of the system's most recent run."),
    Column("system_id_v1", "VARCHAR",
           note="The v1 system id of the same hardware (fwbench.harness.fingerprint.hardware_id_v1: CPU model "
                "name, cores, memory, accelerator): system_id itself for a record before fingerprint v2. Joins a "
                "host's v2 runs to its runs recorded under the v1 id."),
    Column("hardware_class", "VARCHAR", nullable=False,
           note=HARDWARE_CLASS_NOTE),
)

RUN_SYSTEMS = Table(
    name="run_systems",
    description="The full system fingerprint of every ingested run (software can change between runs "
                "of one system_id); `systems` is derived from it.",
    primary_key=("run_id",),
    parquet=False,
    columns=(Column("run_id", "VARCHAR", "run_id", nullable=False),
             Column("finished_at", "TIMESTAMP", "finished_at", unit="UTC", note="Stored as UTC without zone."))
    + _SYSTEM_COLUMNS,
)

SYSTEMS = Table(
    name="systems",
    description="One row per system_id: the fingerprint of its most recent run, plus how many runs and "
                "distinct software fingerprints it has.",
    primary_key=("system_id",),
    columns=_SYSTEM_COLUMNS + (
        Column("n_runs", "BIGINT", unit="runs", note="Ingested runs on this system."),
        Column("n_fingerprints", "BIGINT",
               note="Distinct software fingerprints (packages, Python, OS, commit, lock) seen on this system."),
        Column("first_run_at", "TIMESTAMP", unit="UTC", note="Earliest finished_at of its runs."),
        Column("last_run_at", "TIMESTAMP", unit="UTC", note="Latest finished_at of its runs."),
    ),
)

INGEST_REPORT = Table(
    name="ingest_report",
    description="One row per `fwbench ingest`: counts of raw files by outcome and every invalid record "
                "(kept out of the other tables) with its file, field and message. Unnest with "
                "`SELECT unnest(invalid_records, recursive := true) FROM ingest_report`, or use the "
                "`invalid_records` view (latest ingest).",
    primary_key=("ingest_id",),
    columns=(
        Column("ingest_id", "INTEGER", note="1, 2, ... in ingest order.", nullable=False),
        Column("ingested_at", "TIMESTAMP", unit="UTC", note="When the ingest ran."),
        Column("raw_dir", "VARCHAR", note="Raw directory that was ingested."),
        Column("n_files", "INTEGER", unit="files", note="Raw record files found."),
        Column("new", "INTEGER", unit="files", note="Files not seen before."),
        Column("changed", "INTEGER", unit="files", note="Files whose content hash changed."),
        Column("removed", "INTEGER", unit="files", note="Files gone since the last ingest (their rows deleted)."),
        Column("unchanged", "INTEGER", unit="files", note="Files with the same content hash (not parsed again)."),
        Column("invalid", "INTEGER", unit="files",
               note="Files present now that fail validation (a subset of new/changed/unchanged)."),
        Column("seconds", "DOUBLE", unit="s", note="Wall time of the ingest."),
        Column("invalid_records", "STRUCT(path VARCHAR, field VARCHAR, message VARCHAR)[]",
               note="Every invalid record: path relative to raw_dir, the offending field (dotted) and the message."),
    ),
)

INGEST_FILES = Table(
    name="ingest_files",
    description="Ingest bookkeeping: every raw file seen, its content hash and whether it was valid.",
    primary_key=("path",),
    parquet=False,
    columns=(
        Column("path", "VARCHAR", note="Path relative to the raw directory.", nullable=False),
        Column("content_hash", "VARCHAR", note="sha256 of the file's bytes.", nullable=False),
        Column("run_id", "VARCHAR", note="run_id of a valid record (null when invalid)."),
        Column("field", "VARCHAR", note="Offending field of an invalid record (null when valid)."),
        Column("message", "VARCHAR", note="Validation message of an invalid record (null when valid)."),
    ),
)


def _campaign_column(name: str, type_: str, source: str | None = None, **kwargs: Any) -> Column:
    return Column(name, type_, source, schema="campaign", **kwargs)


CAMPAIGNS = Table(
    name="campaigns",
    description="One row per campaign (data/raw/<grid>/<system-id>/<campaign-id>/campaign.json): the grid, "
                "the host, the jobs it planned and the runs ingested of them, so a partial campaign (stopped "
                "or still running) says so wherever campaigns are listed.",
    primary_key=("grid_name", "system_id", "campaign_id"),
    columns=(
        _campaign_column("campaign_id", "VARCHAR", "campaign_id", nullable=False),
        _campaign_column("grid_name", "VARCHAR", "grid.name", nullable=False, note="The grid the campaign measures."),
        _campaign_column("grid_hash", "VARCHAR", "grid.hash", note="Content hash of the grid version (fwbench.grid)."),
        _campaign_column("system_id", "VARCHAR", "system.system_id", nullable=False,
                         note="The host (hash of its hardware fingerprint); joins `systems`."),
        _campaign_column("hardware_class", "VARCHAR", note=HARDWARE_CLASS_NOTE),
        _campaign_column("started_at", "TIMESTAMP", "started_at", unit="UTC", note="Stored as UTC without zone."),
        _campaign_column("migrated_from", "VARCHAR", "migrated_from"),
        _campaign_column("planned_speed", "BIGINT", "planned_jobs.speed", unit="runs",
                         note="Speed jobs of the grid when the campaign started."),
        _campaign_column("planned_accuracy", "BIGINT", "planned_jobs.accuracy", unit="runs",
                         note="Accuracy jobs of the grid when the campaign started."),
        _campaign_column("speed_runs", "BIGINT", unit="runs", note="Speed runs of this campaign in `runs`."),
        _campaign_column("accuracy_runs", "BIGINT", unit="runs",
                         note="Accuracy runs of this campaign in `accuracy_runs`."),
        _campaign_column("partial", "BOOLEAN",
                         note="True when fewer runs of either kind were ingested than the campaign planned."),
    ),
)


def _acc(name: str, type_: str, source: str | None = None, **kwargs: Any) -> Column:
    """A column of the accuracy tables (its source is a path in accuracy.schema.yaml)."""
    return Column(name, type_, source, schema="accuracy", **kwargs)


ACCURACY_RUNS = Table(
    name="accuracy_runs",
    description="Accuracy track (claim C08): one row per training run (one raw record of kind 'accuracy'), "
                "whatever its status. Runs of both frameworks with the same configuration and seed start from "
                "identical weights and see the same data order.",
    primary_key=("run_id",),
    partition_by=("grid_name", "system_id"),
    columns=(
        *_record_identity("accuracy"),
        _acc("dataset", "VARCHAR", "cell.dataset"),
        _acc("epochs", "INTEGER", "cell.epochs", unit="epochs"),
        _acc("batch_size", "INTEGER", "cell.batch_size", unit="samples"),
        _acc("lr_schedule", "VARCHAR", "cell.lr_schedule.name"),
        _acc("base_lr", "DOUBLE", "cell.lr_schedule.base_lr"),
        _acc("momentum", "DOUBLE", "cell.lr_schedule.momentum"),
        _acc("lr_gamma", "DOUBLE", "cell.lr_schedule.gamma"),
        _acc("lr_milestones", "VARCHAR", "cell.lr_schedule.milestones", json="array", note="Stored as JSON text."),
        _acc("seed", "BIGINT", "cell.seed"),
        _acc("threads", "INTEGER", "cell.threads"),
        _acc("device", "VARCHAR", "cell.device"),
        _acc("status", "VARCHAR", "status", nullable=False),
        _acc("error", "VARCHAR", "error"),
        _acc("started_at", "TIMESTAMP", "started_at", unit="UTC", note="Stored as UTC without zone."),
        _acc("finished_at", "TIMESTAMP", "finished_at", unit="UTC", note="Stored as UTC without zone."),
        _acc("timeout_s", "DOUBLE", "protocol.timeout_s", unit="s"),
        _acc("import_s", "DOUBLE", "timings.import_s", unit="s"),
        _acc("build_s", "DOUBLE", "timings.build_s", unit="s"),
        _acc("train_s", "DOUBLE", "timings.train_s", unit="s"),
        _acc("eval_s", "DOUBLE", "timings.eval_s", unit="s"),
        _acc("n_train", "INTEGER", "data.n_train", unit="examples"),
        _acc("n_val", "INTEGER", "data.n_val", unit="examples"),
        _acc("split_seed", "BIGINT", "data.split_seed"),
        _acc("params", "BIGINT", "model_info.params", unit="parameters"),
        _acc("first_batch_loss", "DOUBLE", "first_batch_loss"),
        _acc("n_epochs", "INTEGER", unit="epochs", note="Number of epochs the run finished."),
        _acc("final_val_accuracy", "DOUBLE", "final_val_accuracy", unit="fraction"),
        _acc("best_val_accuracy", "DOUBLE", unit="fraction",
             note="Highest validation accuracy over the finished epochs (null without epochs)."),
        *version_columns(schema="accuracy"),
        _acc("git_commit", "VARCHAR", "system.git_commit", note="Commit of the fwbench checkout that ran."),
        _acc("env_lock_hash", "VARCHAR", "system.env_lock_hash", note="Hash of the environment lock file."),
    ),
)

ACCURACY_EPOCHS = Table(
    name="accuracy_epochs",
    description="Accuracy track: one row per finished epoch of an ingested accuracy run (join to accuracy_runs "
                "on run_id).",
    primary_key=("run_id", "epoch"),
    columns=(
        _acc("run_id", "VARCHAR", note="The run (accuracy_runs.run_id).", nullable=False),
        _acc("epoch", "INTEGER", "epochs.epoch", nullable=False),
        _acc("lr", "DOUBLE", "epochs.lr"),
        _acc("train_loss", "DOUBLE", "epochs.train_loss"),
        _acc("val_accuracy", "DOUBLE", "epochs.val_accuracy", unit="fraction"),
        _acc("wall_s", "DOUBLE", "epochs.wall_s", unit="s"),
        _acc("eval_s", "DOUBLE", "epochs.eval_s", unit="s"),
        _acc("steps", "INTEGER", "epochs.steps", unit="steps"),
        _acc("elapsed_s", "DOUBLE", unit="s",
             note="Training wall time from the run's first step to the end of this epoch (cumulative wall_s)."),
    ),
)

TABLES: tuple[Table, ...] = (RUNS, STEPS, SYSTEMS, RUN_SYSTEMS, CAMPAIGNS, INGEST_REPORT, INGEST_FILES,
                             ACCURACY_RUNS, ACCURACY_EPOCHS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


@lru_cache(maxsize=None)
def schema_description(path: str, schema: str = "run") -> str:
    """Description of a dotted record path in a record schema ('' when the schema has none)."""
    node: dict[str, Any] = load_schema(schema)
    for part in path.split("."):
        if "items" in node and "properties" not in node:  # a list of objects: describe its items
            node = node["items"]
        props = node.get("properties")
        if props is None:  # grid is oneOf [null, object]
            for option in node.get("oneOf", []):
                if "properties" in option:
                    props = option["properties"]
        if not props or part not in props:
            return ""
        node = props[part]
    return str(node.get("description", "")).strip()


def describe(column: Column) -> str:
    """Full description of a column: the schema's text for its source field, then the note."""
    parts = [schema_description(column.source, column.schema)] if column.source else []
    if column.note:
        parts.append(column.note)
    text = " ".join(p.rstrip(".") + "." for p in parts if p)
    if column.source:
        text += f" Source: `{column.source}`."
    return text.strip()
