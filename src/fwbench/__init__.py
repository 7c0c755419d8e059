"""fwbench: a reproducible PyTorch vs TensorFlow benchmark dataset and its analysis."""

__version__ = "0.1.0"
