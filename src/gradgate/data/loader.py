"""Datasets as indexable collections, and a loader that cuts them into (shuffled) batches.

The loader yields tuples of gradgate Tensors, one per array of the dataset: with
``TensorDataset(x, y)`` each batch is ``(x_batch, y_batch)``. Shuffling draws from one NumPy
``Generator`` per loader, whose state `DataLoader.state_dict` exports so that a resumed
training run sees exactly the epochs it would have seen.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from gradgate.arguments import count

if TYPE_CHECKING:
    from gradgate.tensor import Tensor

__all__ = ["DataLoader", "Dataset", "TensorDataset"]


class Dataset:
    """A sized collection of examples: ``len(dataset)`` and ``dataset[i]`` for ``0 <= i < len``.

    Subclasses define both methods. ``dataset[i]`` returns one example: an array (or number),
    or a tuple of them, such as ``(features, label)``.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Examples held as rows of arrays that share their first dimension.

    ``TensorDataset(x, y)[i]`` is ``(x[i], y[i])``. The arrays are kept as given (converted
    with ``np.asarray``, so NumPy arrays are not copied).
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays: tuple[np.ndarray, ...] = tuple(np.asarray(a) for a in arrays)
        shapes = [a.shape for a in self.arrays]
        if any(len(shape) == 0 for shape in shapes) or len({s[0] for s in shapes}) != 1:
            raise ValueError(
                "TensorDataset arrays must share their first dimension (the number of "
                f"examples); got shapes {shapes}"
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)


class DataLoader:
    """Iterate over a dataset in batches of ``batch_size`` examples, one epoch per loop.

    Each epoch visits every example once, in order or (``shuffle=True``) in a fresh random
    order drawn from this loader's generator, seeded by ``seed``: the same seed gives the
    same sequence of epochs run after run. The last, smaller batch is dropped when
    ``drop_last`` is true. ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        self.dataset = dataset
        self.batch_size = count(batch_size, "batch_size")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        """One epoch of batches as tuples of Tensors (``requires_grad=False``)."""
        from gradgate.tensor import tensor  # lazy: data depends on the core only here

        batches = self.array_batches()
        return (tuple(tensor(a) for a in batch) for batch in batches)

    def array_batches(self) -> Iterator[tuple[np.ndarray, ...]]:
        """One epoch of batches as tuples of NumPy arrays, the same batches as iterating.

        The epoch's order is drawn when this is called, not when the first batch is taken.
        """
        order = self._epoch_order()
        return self._batches(order)

    def state_dict(self) -> dict[str, Any]:
        """The shuffling generator's state, as JSON-friendly dicts, strings and integers.

        Taken between epochs and given to `load_state_dict` of a loader over the same
        dataset, it makes that loader produce the epochs this one would produce next.
        """
        return {"generator": copy.deepcopy(self._generator.bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the shuffling generator from a `state_dict` result."""
        if "generator" not in state:
            raise ValueError(f"DataLoader state needs a 'generator' entry, got keys {list(state)}")
        self._generator.bit_generator.state = copy.deepcopy(state["generator"])

    def _epoch_order(self) -> np.ndarray:
        """The example indices of one epoch, shuffled when asked."""
        n = len(self.dataset)
        if self.shuffle:
            return self._generator.permutation(n)
        return np.arange(n)

    def _batches(self, order: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
        """Cut ``order`` into batches and fetch each one's examples."""
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self._fetch(order[start : start + self.batch_size])

    def _fetch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """The examples at ``indices``, one stacked array per field."""
        if isinstance(self.dataset, TensorDataset):
            return tuple(a[indices] for a in self.dataset.arrays)  # one gather per array
        items = [self.dataset[int(i)] for i in indices]
        rows = [item if isinstance(item, tuple) else (item,) for item in items]
        fields = len(rows[0])
        if any(len(row) != fields for row in rows):
            raise ValueError(
                f"{type(self.dataset).__name__} items must all have the same number of fields"
            )
        return tuple(_stack([row[f] for row in rows], f) for f in range(fields))


def _stack(values: list[Any], field: int) -> np.ndarray:
    """Stack one field of several examples into a batch array, naming mismatched shapes."""
    arrays = [np.asarray(v) for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(
            f"cannot batch field {field}: examples have different shapes {sorted(shapes)}"
        )
    return np.stack(arrays)
