"""Accuracy track (claim C08): same model, same hyperparameters, same accuracy in both frameworks?

Each run trains one model in one framework from weights built by torch with the run's seed (the
TensorFlow side receives them through the family's copy_torch_to_tf), on a fixed real or
synthetic dataset, with the same data order, batch, optimizer and learning-rate schedule, and
records train loss, validation accuracy and wall time per epoch (workflow/schemas/accuracy.schema.yaml).

Modules: spec (the accuracy cell), data (datasets and epoch order), train (per-framework loops),
worker (the fresh process), runner (spawn, timeout, record), cli (`fwbench accuracy`).
Importing this package imports neither torch nor tensorflow.
"""
