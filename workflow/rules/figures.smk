# Stage 4: the figures (SVG/PNG/Vega-Lite) and the interactive HTML report.


rule render_figures:
    """Render every figure of analysis/figures.yaml and the HTML report."""
    input:
        db=DB,
        analysis=ANALYSIS,
        registry=paths.FIGURES_REGISTRY_REL,
    output:
        figures=directory(FIGURES),
        html=REPORT_HTML,
    log:
        f"{LOGS}/render_figures.log",
    shell:
        "fwbench figures --db {input.db} --registry {input.registry} --out {output.figures}"
        " --html {output.html} > {log} 2>&1"


rule figures:
    """Target: the figures."""
    input:
        rules.render_figures.output,
