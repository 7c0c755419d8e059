# Stage 2: validate every raw record under data/raw (this host's runs of the grid and any pooled
# ones: other hosts' runs pulled with DVC, other grids) into data/results.duckdb + data/parquet/.
# The host is a column (system_id) of every table, so the analysis can treat it as a factor.


rule ingest_runs:
    """Build the dataset (DuckDB tables and views, Parquet) from all raw run records."""
    input:
        runs=RUN_RECORDS,
        pooled=POOLED_RECORDS,
        schema=f"{paths.SCHEMAS_REL}/run.schema.yaml",
    output:
        db=DB,
        parquet=directory(PARQUET),
    log:
        f"{LOGS}/ingest_runs.log",
    params:
        raw=RAW_ROOT,  # the whole directory: every grid and host is pooled
    shell:
        "fwbench ingest --raw {params.raw} --db {output.db} --parquet {output.parquet} > {log} 2>&1"


rule dataset:
    """Target: the dataset."""
    input:
        rules.ingest_runs.output,
