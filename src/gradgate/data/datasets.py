"""Built-in datasets that need no network: each returns ``(x, y)`` as NumPy arrays.

``x`` is float32 of shape ``(n, features)`` and ``y`` is int64 class labels ``0 .. k-1`` of
shape ``(n,)``. ``iris`` and ``digits`` are read from compressed CSV files shipped inside
this package (the UCI data as redistributed by scikit-learn); ``xor``, ``moons`` and
``spirals`` are generated, reproducibly when given a ``seed``.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
from collections.abc import Callable
from importlib import resources

import numpy as np

from gradgate.arguments import count
from gradgate.data.files import Classes, CsvData, class_numbers, load_csv, load_npz, parse_csv

__all__ = [
    "DATASET_NAMES",
    "digits",
    "iris",
    "load_dataset",
    "load_table",
    "moons",
    "spirals",
    "xor",
]

_XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_XOR_LABELS = np.array([0, 1, 1, 0])


def xor(n: int = 4, noise: float = 0.0, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: points near the corners of the unit square, label = x0 XOR x1.

    With the defaults it is the four corners (0,0), (0,1), (1,0), (1,1) with labels 0, 1,
    1, 0. With ``n`` points, point ``i`` sits at corner ``i % 4`` plus Gaussian noise of
    standard deviation ``noise`` (so the classes stay balanced).
    """
    _check_size(n, noise)
    corner = np.arange(n) % 4
    x = _XOR_CORNERS[corner] + noise * np.random.default_rng(seed).standard_normal((n, 2))
    return x.astype(np.float32), _XOR_LABELS[corner].astype(np.int64)


def iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris flowers: 150 examples, 4 features (cm), 3 classes of 50.

    Features: sepal length, sepal width, petal length, petal width. Labels: 0 setosa,
    1 versicolor, 2 virginica.
    """
    return load_dataset("iris")


def digits() -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits (UCI optdigits test set): 1,797 images of 8x8 pixels, 10 classes.

    Each row of ``x`` is an image flattened row by row (feature ``8*i + j`` is pixel
    ``(i, j)``), with integer grey levels 0 .. 16; ``y`` is the digit 0 .. 9.
    """
    return load_dataset("digits")


def moons(
    n: int = 200, noise: float = 0.1, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles in 2-D: class 0 on top, class 1 below and shifted.

    ``n`` points in all (``n // 2`` in class 0), spread evenly along each arc, plus Gaussian
    noise of standard deviation ``noise``; the rows come in a shuffled order.
    """
    _check_size(n, noise)
    rng = np.random.default_rng(seed)
    n_top = n // 2
    t_top = np.linspace(0.0, np.pi, n_top)
    t_bottom = np.linspace(0.0, np.pi, n - n_top)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)  # (n_top, 2)
    bottom = np.stack([1.0 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    x = np.concatenate([top, bottom]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n_top), np.ones(n - n_top)])
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms in 2-D, one arm per class (the CS231n toy problem).

    ``n`` points in all, shared as evenly as possible among ``classes`` arms. Along arm
    ``k`` the radius grows from 0 to 1 while the angle runs over ``[4k, 4k + 4]`` radians
    plus Gaussian noise of standard deviation ``noise``; the rows come in a shuffled order.
    """
    _check_size(n, noise)
    count(classes, "classes")
    rng = np.random.default_rng(seed)
    sizes = [n // classes + (k < n % classes) for k in range(classes)]
    points, labels = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), size) + noise * rng.standard_normal(size)
        points.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))  # (size, 2)
        labels.append(np.full(size, k))
    order = rng.permutation(n)
    x = np.concatenate(points)[order]
    y = np.concatenate(labels)[order]
    return x.astype(np.float32), y.astype(np.int64)


# By name, the generated sets are drawn with seed 0: "moons" is one data set, every time.
_GENERATED: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "moons": functools.partial(moons, seed=0),
    "spirals": functools.partial(spirals, seed=0),
    "xor": xor,
}
_SHIPPED = ("digits", "iris")  # read from gradgate/data/<name>.csv.gz
DATASET_NAMES: tuple[str, ...] = tuple(sorted([*_GENERATED, *_SHIPPED]))


def load_dataset(
    name_or_path: str | os.PathLike[str], target: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load a built-in dataset by name, or a user file by path, as ``(x, y)``.

    Names: ``digits``, ``iris``, ``moons``, ``spirals``, ``xor`` (generated ones with their
    default arguments and seed 0, so that a name is always the same data). A path ending
    in ``.csv`` or ``.csv.gz`` goes to `load_csv` with ``target`` as the label column; one
    ending in ``.npz`` goes to `load_npz`. Anything else raises ``ValueError`` listing the
    valid names.
    """
    table = load_table(name_or_path, target)
    assert table.y is not None
    return table.x, table.y


def load_table(
    name_or_path: str | os.PathLike[str],
    target: str | None = None,
    *,
    classes: Classes = None,
    labels: bool | None = True,
) -> CsvData:
    """A built-in dataset or a file as :class:`CsvData`: the arrays with their names.

    As `load_dataset`, and with `load_csv`'s ``classes`` and ``labels`` (``labels=None``:
    an ``.npz`` archive's ``y`` when it has one; a CSV file's target column when ``target``
    is given). The built-in iris and digits keep the column and class names of the files
    they ship in (iris's classes are named setosa, versicolor, virginica); the generated
    sets name their features ``x0``, ``x1``, ... and number their classes.
    """
    text = os.fspath(name_or_path)
    builtin = text in _SHIPPED or text in _GENERATED
    if builtin and target is not None:
        raise ValueError(f"target= applies to CSV files only, not the {text!r} dataset")
    if text in _SHIPPED:
        return _shipped_table(f"{text}.csv.gz", classes, labels is not False)
    if text in _GENERATED:
        x, y = _GENERATED[text]()
        y_read = class_numbers(y, text, classes) if labels is not False else None
        return CsvData(x, y_read, [f"x{j}" for j in range(x.shape[1])], None, None)
    if text.endswith((".csv", ".csv.gz")):
        with_labels = labels if labels is not None else target is not None
        return load_csv(text, target=target, classes=classes, labels=with_labels)
    if text.endswith(".npz"):
        if target is not None:
            raise ValueError(f"target= applies to CSV files only, not {text!r}")
        features, labelled = load_npz(text, classes=classes, labels=labels)
        names = [f"x{j}" for j in range(int(np.prod(features.shape[1:])))]
        return CsvData(features, labelled, names, "y" if labelled is not None else None, None)
    raise ValueError(
        f"unknown dataset {text!r}: expected one of {', '.join(DATASET_NAMES)}, "
        "or a path ending in .csv, .csv.gz or .npz"
    )


def _shipped_table(filename: str, classes: Classes = None, labels: bool = True) -> CsvData:
    """Parse one of the gzip-compressed CSV files shipped in this package."""
    with resources.files("gradgate.data").joinpath(filename).open("rb") as raw:
        with gzip.open(raw, "rb") as unzipped:
            text = io.TextIOWrapper(unzipped, encoding="utf-8", newline="")
            return parse_csv(text, f"gradgate/data/{filename}", classes=classes, labels=labels)


def _check_size(n: int, noise: float) -> None:
    """Reject a non-positive or non-integer ``n`` and a negative ``noise``."""
    count(n, "n")
    if not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
