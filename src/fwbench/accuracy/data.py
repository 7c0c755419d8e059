"""The accuracy track's datasets, as numpy arrays identical (byte for byte) in both frameworks.

- ``digits`` (CNN): scikit-learn's 8x8 handwritten digits (1797 images, 10 classes; ships with
  scikit-learn, no download). Pixels 0..16 are scaled to [0, 1], upsampled 4x by nearest
  neighbour to 32x32, repeated to 3 channels (the CNN's CIFAR-shaped input) and standardised
  with the training split's mean and standard deviation.
- ``periodic`` (LSTM): synthetic next-token prediction on noisy periodic sequences. Each
  sequence repeats a random pattern (period 2..MAX_PERIOD, tokens from an alphabet of
  ALPHABET symbols) for SEQ_LEN + 1 tokens; every token is then replaced by a random alphabet
  token with probability NOISE. The model predicts each next token; accuracy counts positions
  t >= MAX_PERIOD (the pattern has been seen once, so the next token is determined by the past
  up to the noise: the ceiling is about 1 - NOISE * (ALPHABET - 1) / ALPHABET = 0.95).

The train/validation split is fixed by SPLIT_SEED (the same for every run), so runs differ only
in their seed: initial weights and the per-epoch data order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fwbench.models.base import IMAGES, LABELS
from fwbench.models.lstm import TOKENS

SPLIT_SEED = 20260101
VAL_FRACTION = 0.2
UPSAMPLE = 4  # 8x8 -> 32x32
# periodic task
SEQ_LEN = 32
ALPHABET = 8
MAX_PERIOD = 4
NOISE = 0.05
N_SEQUENCES = 2500

DESCRIPTIONS: dict[str, str] = {
    "digits": "scikit-learn digits (1797 8x8 images, 10 classes) upsampled 4x (nearest) to 32x32x3, standardised "
              "with training-split statistics; fixed 80/20 split",
    "periodic": f"synthetic next-token prediction: {N_SEQUENCES} noisy periodic sequences (period 2..{MAX_PERIOD}, "
                f"alphabet {ALPHABET}, length {SEQ_LEN}, token noise {NOISE}); accuracy over positions "
                f">= {MAX_PERIOD}; fixed 80/20 split",
}


@dataclass(frozen=True)
class Split:
    """Train and validation arrays in the models' batch layout (dicts keyed like make_batch's)."""

    name: str
    train: dict[str, np.ndarray]
    val: dict[str, np.ndarray]
    #: Label positions that count towards accuracy (sequence tasks); None = every label.
    first_scored_position: int | None = None

    @property
    def n_train(self) -> int:
        return len(self.train[LABELS])

    @property
    def n_val(self) -> int:
        return len(self.val[LABELS])

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.name]


def _split_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_val = int(round(n * VAL_FRACTION))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def upsample(images: np.ndarray, factor: int = UPSAMPLE, channels: int = 3) -> np.ndarray:
    """(N, H, W) -> (N, H*factor, W*factor, channels) by nearest neighbour and channel repetition."""
    big = images.repeat(factor, axis=1).repeat(factor, axis=2)
    return np.ascontiguousarray(np.repeat(big[..., None], channels, axis=3))


@lru_cache(maxsize=None)
def digits() -> Split:
    from sklearn.datasets import load_digits

    raw = load_digits()
    images = (raw.images.astype(np.float32) / 16.0)
    labels = raw.target.astype(np.int64)
    train_idx, val_idx = _split_indices(len(labels))
    mean, std = images[train_idx].mean(), images[train_idx].std()
    x = upsample((images - mean) / std).astype(np.float32)
    return Split("digits", {IMAGES: x[train_idx], LABELS: labels[train_idx]},
                 {IMAGES: x[val_idx], LABELS: labels[val_idx]})


def periodic_sequences(n: int, seed: int) -> np.ndarray:
    """(n, SEQ_LEN + 1) int64 token streams: a tiled random pattern with token noise."""
    gen = np.random.default_rng(seed)
    periods = gen.integers(2, MAX_PERIOD + 1, size=n)
    patterns = gen.integers(0, ALPHABET, size=(n, MAX_PERIOD))
    positions = np.arange(SEQ_LEN + 1)[None, :] % periods[:, None]
    clean = np.take_along_axis(patterns, positions, axis=1)
    noisy = gen.random(clean.shape) < NOISE
    return np.where(noisy, gen.integers(0, ALPHABET, size=clean.shape), clean).astype(np.int64)


@lru_cache(maxsize=None)
def periodic() -> Split:
    stream = periodic_sequences(N_SEQUENCES, SPLIT_SEED)
    train_idx, val_idx = _split_indices(N_SEQUENCES)

    def part(idx: np.ndarray) -> dict[str, np.ndarray]:
        return {TOKENS: np.ascontiguousarray(stream[idx, :-1]), LABELS: np.ascontiguousarray(stream[idx, 1:])}

    return Split("periodic", part(train_idx), part(val_idx), first_scored_position=MAX_PERIOD)


LOADERS = {"digits": digits, "periodic": periodic}


def load(name: str) -> Split:
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(LOADERS)}")
    return LOADERS[name]()


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of training examples in `epoch`: numpy, from (seed, epoch), framework-free."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def batches(split: Split, seed: int, epoch: int, batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """Training batches of one epoch in the seeded order; the last partial batch is dropped (every
    batch has the same shape, so compiled steps never retrace)."""
    if batch_size > split.n_train:
        raise ValueError(f"batch_size {batch_size} exceeds the {split.n_train} training examples of {split.name}")
    order = epoch_order(split.n_train, seed, epoch)
    for start in range(0, split.n_train - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        yield {key: np.ascontiguousarray(value[idx]) for key, value in split.train.items()}


def correct(logits: np.ndarray, labels: np.ndarray, first_scored_position: int | None) -> tuple[int, int]:
    """(correct predictions, scored predictions) of argmax(logits) against labels."""
    pred = logits.argmax(axis=-1)
    if first_scored_position is not None:
        pred, labels = pred[:, first_scored_position:], labels[:, first_scored_position:]
    return int((pred == labels).sum()), int(labels.size)
