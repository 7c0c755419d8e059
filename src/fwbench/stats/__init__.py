"""Statistics on ingested runs: steady state, bootstrap CIs, comparisons, claim verdicts.

Core functions take polars DataFrames (the dataset's `runs` and `steps` tables) and return
DataFrames, so each step is testable without a database; `fwbench analyze` wires them together.
"""
