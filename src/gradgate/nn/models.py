"""Ready-made networks: recipes that the examples and the ``gradgate`` command build."""

from __future__ import annotations

import numpy as np

from .conv import Conv2d, Flatten, MaxPool2d, Unflatten
from .layers import Dropout, Linear, ReLU, Sequential


def digits_cnn(
    classes: int = 10,
    channels: tuple[int, int] = (32, 64),
    hidden: int = 128,
    dropout: float = 0.25,
    dtype=None,
    generator: np.random.Generator | None = None,
) -> Sequential:
    """A small CNN for the built-in 8×8 digits: 64 pixels in (flat, as the data come, or
    (N, 1, 8, 8)), one logit per class out.

        (N, 64) → 1×8×8 → conv 3×3 "same" → ReLU → conv 3×3 "same" → ReLU → max-pool 2×2
                → 64×4×4 → flatten → linear 1024→128 → ReLU → dropout → linear 128→10

    (32 and 64 channels.) Trained with cross-entropy and Adam (lr 1e-3, cosine-annealed to 0
    over 30 epochs, batches of 32) on the standardised pixels of a stratified 70/30 split,
    it reaches 99.26, 98.89, 98.33, 99.26 and 99.26 % test accuracy with seeds 0–4
    (``examples/cnn_digits.py``). Parameter
    names are those of the same ``torch.nn.Sequential``: ``1.weight``, ``3.weight``, ...
    """
    c1, c2 = channels
    kw = {"dtype": dtype, "generator": generator}
    return Sequential(
        Unflatten(1, (1, 8, 8)),
        Conv2d(1, c1, 3, padding="same", **kw),
        ReLU(),
        Conv2d(c1, c2, 3, padding="same", **kw),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(c2 * 16, hidden, dtype=dtype, generator=generator),
        ReLU(),
        Dropout(dropout, generator=generator),
        Linear(hidden, classes, dtype=dtype, generator=generator),
    )
