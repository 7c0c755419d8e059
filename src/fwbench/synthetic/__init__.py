"""Synthetic, schema-valid records with planted effects, for tests (never for results).

- fwbench.synthetic.runs: speed-run records (the names below are its public API);
- fwbench.synthetic.accuracy: accuracy-track records.
"""

from fwbench.synthetic.runs import base_cell, fake_system, make_record, step_times, write_dataset

__all__ = ["base_cell", "fake_system", "make_record", "step_times", "write_dataset"]
