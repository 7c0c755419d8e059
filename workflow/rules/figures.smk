# Stage 4: the paper's figures from the dataset and the analysis.


rule render_figures:
    """Render every figure (SVG/PNG + interactive HTML)."""
    input:
        db=DB,
        analysis=ANALYSIS,
    output:
        figures=directory(FIGURES),
    log:
        f"{LOGS}/render_figures.log",
    shell:
        "fwbench figures --db {input.db} --out {output.figures} > {log} 2>&1"


rule figures:
    """Target: the figures."""
    input:
        rules.render_figures.output,
