# Stage 1: a campaign (fwbench.campaigns): its campaign.json first, then one job per (cell, repetition),
# each a fresh `fwbench run` process, and the accuracy track; every record lands in the campaign's directory.
#  - bench_slot=1: no two timing runs overlap, whatever --cores says (see common.smk/profiles).
#  - priority: repetition k of every cell runs before repetition k+1 of any cell, so slow drift
#    of the machine spreads over all cells instead of landing on one; within a round the cells run in
#    the campaign's random order (fwbench.jobs.interleaved), recorded as each run's position.
#  - --keep-going: a failed run still writes its (failure) record; the workflow goes on.
#  - The record is written atomically by the harness; a killed job leaves no file and is rerun.
#  - params.command is a fwbench.jobs.RunCommand object: Snakemake does not track it as a param,
#    so editing the grid (hash, version, protocol) adds or removes runs without rerunning others.


rule start_campaign:
    """Write the campaign's campaign.json (grid, fingerprint, machine state) before its first run."""
    output:
        campaign=CAMPAIGN_RECORD,
    log:
        f"{LOGS}/start_campaign/{SYSTEM_ID}/{CAMPAIGN}.log",
    params:
        grid=GRID.path,
        campaign=CAMPAIGN,
    resources:
        bench_slot=1,  # its canary is a measurement too
    priority: max(map(PLAN.priority, PLAN.speed), default=0) + 1  # before every run
    shell:
        "fwbench campaign start {params.grid} --campaign {params.campaign} --out {output.campaign} > {log} 2>&1"


rule run_benchmark:
    """Measure one repetition of one cell and write its raw run record."""
    input:
        campaign=CAMPAIGN_RECORD,
    output:
        record=f"{RAW}/{{cell}}/rep-{{rep}}.json",
    log:
        f"{LOGS}/run_benchmark/{SYSTEM_ID}/{{cell}}/rep-{{rep}}.log",
    params:
        command=lambda wildcards, output: fwjobs.command(
            GRID, SPEED_JOBS[wildcards.cell, int(wildcards.rep)], output.record, COMPILE_CACHE, CAMPAIGN
        ),
    threads: lambda wildcards: CELLS[wildcards.cell].cell.threads
    resources:
        bench_slot=1,
    priority: lambda wildcards: PLAN.priority(SPEED_JOBS[wildcards.cell, int(wildcards.rep)])
    shell:
        "{params.command} > {log} 2>&1"


rule run_accuracy:
    """Train one accuracy-track cell (one framework x model x seed) and write its record."""
    input:
        campaign=CAMPAIGN_RECORD,
    output:
        record=f"{RAW}/{{acc}}/rep-0.json",
    log:
        f"{LOGS}/run_accuracy/{SYSTEM_ID}/{{acc}}/rep-0.log",
    wildcard_constraints:
        acc="|".join(ACCURACY) or "(?!)",  # "(?!)" matches nothing: a grid without the section
    params:
        command=lambda wildcards, output: fwjobs.command(GRID, ACCURACY[wildcards.acc], output.record,
                                                         campaign_id=CAMPAIGN),
    threads: lambda wildcards: ACCURACY[wildcards.acc].cell.threads
    resources:
        bench_slot=1,
    priority: 0  # after every speed run (their priorities are >= 1)
    shell:
        "{params.command} > {log} 2>&1"


rule runs:
    """Target: every run of this campaign of the grid on this host, accuracy track included."""
    input:
        RUN_RECORDS,
