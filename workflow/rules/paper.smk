# Stage 5: the paper; every number and figure in it is generated.


rule build_paper:
    """Typeset paper/build/paper.pdf from the analysis and the figures."""
    input:
        db=DB,
        analysis=ANALYSIS,
        figures=FIGURES,
    output:
        pdf=PAPER,
    log:
        f"{LOGS}/build_paper.log",
    shell:
        "fwbench paper --out {output.pdf} > {log} 2>&1"


rule paper:
    """Target: the paper."""
    input:
        rules.build_paper.output,
