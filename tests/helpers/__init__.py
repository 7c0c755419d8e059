"""Shared test helpers, importable as `helpers.<module>` from any test module (tests/ is on sys.path).

They live here rather than in test modules so that no test module imports another one and pytest
collects no helper as a test: `dataset` (a planted raw dataset and its database, for the ingest and
query tests), `planted` (planted runs/steps frames for the statistics tests), `figures_data`
(a synthetic database ingested and analyzed, for the figure and paper tests), `workflow` (a fresh
copy of the checkout and commands run in it, for the workflow tests) and `parity` (PyTorch <-> TensorFlow
parity checks of a model pair, for the model parity and variant tests). Fixtures built on them are in
tests/conftest.py.
"""
