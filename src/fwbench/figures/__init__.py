"""Altair figures of the dataset and analysis: one module per figure, listed in analysis/figures.yaml.

Figures only read tables (fwbench.dataset / fwbench.stats outputs) and never compute statistics,
so a change to a figure re-renders figures and the paper without touching benchmarks or analysis.
"""
