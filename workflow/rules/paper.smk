# Stage 5: the paper; every number and table in it is generated from the database.


rule build_paper:
    """Write the generated numbers/tables and typeset paper/build/paper.pdf."""
    input:
        db=DB,
        analysis=ANALYSIS,
        figures=FIGURES,
        sources=PAPER_SOURCES,
    output:
        pdf=PAPER,
        generated=directory(PAPER_GENERATED),
    log:
        f"{LOGS}/build_paper.log",
    params:
        build=lambda wildcards, output: Path(output.pdf).parent,
    shell:
        "fwbench paper --db {input.db} --build {params.build} --figures-dir {input.figures} > {log} 2>&1"


rule paper:
    """Target: the paper."""
    input:
        rules.build_paper.output,
