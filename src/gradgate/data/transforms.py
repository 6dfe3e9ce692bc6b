"""Preparing arrays for training: a (stratified) train/test split and per-feature scaling."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["Standardizer", "train_test_split"]


def train_test_split(
    x: Any,
    y: Any,
    test_size: float | int = 0.25,
    seed: int | None = None,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle the examples and split them: ``x_train, x_test, y_train, y_test``.

    ``test_size`` is a fraction of the examples in (0, 1), rounded up, or a count; both
    parts must end up non-empty. With ``stratify`` each class of ``y`` is split in the same
    proportion (to within one example), so rare classes appear in both parts when they can.
    The same ``seed`` gives the same split.
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"x and y must have the same number of rows; got shapes {x.shape} and {y.shape}"
        )
    n = len(x)
    n_test = _test_count(test_size, n)
    rng = np.random.default_rng(seed)
    if stratify:
        if y.ndim != 1:
            raise ValueError(f"stratify needs 1-D class labels y, got shape {y.shape}")
        test = _stratified_test_indices(y, n_test, rng)
        is_test = np.zeros(n, dtype=bool)
        is_test[test] = True
        train = rng.permutation(np.flatnonzero(~is_test))
        test = rng.permutation(test)
    else:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    return x[train], x[test], y[train], y[test]


def _test_count(test_size: float | int, n: int) -> int:
    """The number of test examples ``test_size`` asks for, checked to leave both parts."""
    if isinstance(test_size, bool):
        raise ValueError(f"test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, int | np.integer):
        n_test = int(test_size)
    elif 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"a fractional test_size must lie in (0, 1), got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_size={test_size!r} gives {n_test} test examples out of {n}; "
            "both the train and the test part must be non-empty"
        )
    return n_test


def _stratified_test_indices(y: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """Pick ``n_test`` indices, each class contributing in proportion to its size.

    Every class first gets the floor of its exact share; the examples left over go to the
    classes with the largest fractional shares (ties broken at random).
    """
    _, label = np.unique(y, return_inverse=True)
    counts = np.bincount(label)
    share = counts * n_test / len(y)
    take = np.floor(share).astype(np.int64)
    leftover = n_test - int(take.sum())
    priority = np.lexsort((rng.random(len(counts)), -(share - take)))
    take[priority[:leftover]] += 1
    picked = [rng.permutation(np.flatnonzero(label == c))[:k] for c, k in enumerate(take)]
    return np.concatenate(picked)


class Standardizer:
    """Scale each feature to zero mean and unit variance: ``(x - mean) / std``.

    Fit it on the training data only, then transform train and test alike. A feature with
    zero spread keeps ``std = 1`` so that it is shifted, never divided by zero. Statistics
    are taken over the first axis, in float64. Floating inputs keep their dtype; other
    inputs come out as float32.
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: Any) -> Standardizer:
        """Learn the per-feature mean and standard deviation of ``x``; return ``self``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(f"Standardizer.fit needs at least one example, got shape {x.shape}")
        std = x.std(axis=0)
        self.mean = x.mean(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def transform(self, x: Any) -> np.ndarray:
        """Return ``(x - mean) / std`` with the fitted statistics."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.transform called before fit (or load_state_dict)")
        x = np.asarray(x)
        if x.shape[1:] != self.mean.shape:
            raise ValueError(
                f"Standardizer was fitted on features of shape {self.mean.shape}, "
                f"got x of shape {x.shape}"
            )
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)
        return ((x - self.mean) / self.std).astype(dtype)

    def fit_transform(self, x: Any) -> np.ndarray:
        """Fit on ``x`` and return it transformed."""
        return self.fit(x).transform(x)

    def state_dict(self) -> dict[str, list[Any]]:
        """The fitted statistics as plain (JSON-friendly) lists: ``{"mean": ..., "std": ...}``."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.state_dict called before fit")
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore statistics from a `state_dict` result (lists or arrays)."""
        missing = [key for key in ("mean", "std") if key not in state]
        if missing:
            raise ValueError(f"Standardizer state is missing {missing}")
        mean = np.asarray(state["mean"], dtype=np.float64)
        std = np.asarray(state["std"], dtype=np.float64)
        if mean.shape != std.shape or np.any(std <= 0):
            raise ValueError(
                f"Standardizer state needs mean and std of one shape with std > 0; "
                f"got shapes {mean.shape} and {std.shape}"
            )
        self.mean, self.std = mean, std
