# Stage 3: statistics and claim verdicts. `fwbench analyze` also writes its tables into the
# database (for `fwbench query` and the figures); its declared output is the directory.


rule analyze_runs:
    """Steady state, per-cell CIs, framework comparisons, outliers and claim verdicts."""
    input:
        db=DB,
        claims=paths.CLAIMS_REL,
    output:
        analysis=directory(ANALYSIS),
    log:
        f"{LOGS}/analyze_runs.log",
    shell:
        "fwbench analyze --db {input.db} --claims {input.claims} --out-dir {output.analysis} > {log} 2>&1"


rule describe_dataset:
    """Croissant description of the dataset's tables (the Frictionless packages come with them)."""
    input:
        parquet=PARQUET,
        analysis=ANALYSIS,
        citation=paths.CITATION_REL,
    output:
        croissant=CROISSANT,
    log:
        f"{LOGS}/describe_dataset.log",
    shell:
        "fwbench croissant --parquet {input.parquet} --analysis {input.analysis} --out {output.croissant} > {log} 2>&1"


rule analysis:
    """Target: the analysis."""
    input:
        rules.analyze_runs.output,
        rules.describe_dataset.output,
