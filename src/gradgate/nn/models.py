"""Ready-made networks: recipes that the examples and the ``gradgate`` command build."""

from __future__ import annotations

import numpy as np

from .conv import Conv2d, Flatten, MaxPool2d, Unflatten
from .layers import Dropout, Linear, Sequential
from .mlp import make_activation


def digits_cnn(
    classes: int = 10,
    channels: tuple[int, int] = (32, 64),
    hidden: int = 128,
    dropout: float = 0.25,
    dtype=None,
    generator: np.random.Generator | None = None,
    activation: str = "relu",
    image_size: int = 8,
) -> Sequential:
    """A small CNN for the built-in 8×8 digits: 64 pixels in (flat, as the data come, or
    (N, 1, 8, 8)), one logit per class out.

        (N, 64) → 1×8×8 → conv 3×3 "same" → ReLU → conv 3×3 "same" → ReLU → max-pool 2×2
                → 64×4×4 → flatten → linear 1024→128 → ReLU → dropout → linear 128→10

    (32 and 64 channels; ``activation`` names another one of ``nn.ACTIVATIONS`` for the
    ReLUs, ``image_size`` another side of square one-channel images, s·s pixels in, the
    dense layer then c2·⌊s/2⌋² → hidden.) ``gradgate train --model cnn`` trains it; its
    recipe and results per seed are in docs/training.md. Parameter names are those of the
    same ``torch.nn.Sequential``: ``1.weight``, ``3.weight``, ``7.weight``, ``10.weight``.
    """
    c1, c2 = channels
    half = image_size // 2
    kw = {"dtype": dtype, "generator": generator}
    return Sequential(
        Unflatten(1, (1, image_size, image_size)),
        Conv2d(1, c1, 3, padding="same", **kw),
        make_activation(activation),
        Conv2d(c1, c2, 3, padding="same", **kw),
        make_activation(activation),
        MaxPool2d(2),
        Flatten(),
        Linear(c2 * half * half, hidden, dtype=dtype, generator=generator),
        make_activation(activation),
        Dropout(dropout, generator=generator),
        Linear(hidden, classes, dtype=dtype, generator=generator),
    )
