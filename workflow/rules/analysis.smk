# Stage 3: statistics and claim verdicts from the dataset.


rule analyze_runs:
    """Steady state, bootstrap CIs, ratio CIs, tests and claim verdicts."""
    input:
        db=DB,
    output:
        analysis=directory(ANALYSIS),
    log:
        f"{LOGS}/analyze_runs.log",
    shell:
        "fwbench analyze --db {input.db} --out {output.analysis} > {log} 2>&1"


rule analysis:
    """Target: the analysis."""
    input:
        rules.analyze_runs.output,
