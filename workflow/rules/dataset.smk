# Stage 2: validate every raw record under data/raw (this host's runs and any pooled ones from
# other hosts) into data/results.duckdb + data/parquet/.


rule ingest_runs:
    """Build the dataset from all raw run records."""
    input:
        runs=RUN_RECORDS,
        pooled=POOLED_RECORDS,
    output:
        db=DB,
        parquet=directory(PARQUET),
    log:
        f"{LOGS}/ingest_runs.log",
    shell:
        "fwbench ingest --raw {RAW_ROOT} --db {output.db} --parquet {output.parquet} > {log} 2>&1"


rule dataset:
    """Target: the dataset."""
    input:
        rules.ingest_runs.output,
