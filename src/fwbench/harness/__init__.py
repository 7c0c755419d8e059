"""The measurement harness: one benchmark cell measured in one fresh worker process.

`fwbench run` (cli.py) validates the cell, `runner.run_cell` spawns `python -m
fwbench.harness.worker` with the thread environment set before Python starts, enforces the
timeout by killing the worker's process group, and always writes the run record (record.py).
The worker times the phases (timing.py), measures memory (memory.py) and drives one framework
backend (backends/). fingerprint.py describes the host without importing any framework.
"""
