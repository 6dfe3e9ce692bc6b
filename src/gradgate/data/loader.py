"""Datasets as indexable collections, and a loader that cuts them into (shuffled) batches.

The loader yields tuples of gradgate Tensors, one per array of the dataset: with
``TensorDataset(x, y)`` each batch is ``(x_batch, y_batch)``. The order comes from a sampler
(`gradgate.data.samplers`); shuffling draws from one NumPy ``Generator`` per loader, whose
state `DataLoader.state_dict` exports so that a resumed training run sees exactly the
epochs it would have seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gradgate.arguments import count
from gradgate.data.samplers import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    _generator_or_seeded,
)

if TYPE_CHECKING:
    from gradgate.tensor import Tensor

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate"]


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
    """Iterate over a dataset in batches, one epoch per loop, as ``torch.utils.data``'s.

    Which examples an epoch visits and in which order is the sampler's choice: by default
    every example once, in order, or (``shuffle=True``) in a fresh random order each epoch
    (a `RandomSampler`); or give your own ``sampler`` (`WeightedRandomSampler`, ...), or a
    ``batch_sampler`` that yields whole lists of indices. Batches hold ``batch_size``
    examples; the last, smaller one is dropped when ``drop_last`` is true. ``len(loader)``
    is the number of batches per epoch.

    Shuffling draws from ``generator`` (a ``numpy.random.Generator``), or one seeded by
    ``seed``, or else one seeded when the loader is made from gradgate's default generator
    (``gradgate.manual_seed``): a seeded program sees the same epochs every run.

    A batch is a tuple of Tensors, one per field of the examples; ``collate_fn``, if given,
    makes each batch from the list of examples instead and its result is yielded as it is.
    Batches are gathered in this process: ``num_workers`` other than 0 is refused.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Sampler | Iterable[int] | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        drop_last: bool = False,
        generator: np.random.Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        batch_size = count(batch_size, "batch_size")
        if num_workers != 0:
            raise ValueError(
                f"DataLoader: num_workers={num_workers!r} is not supported: "
                "batches are gathered in this process (a TensorDataset batch is "
                "one indexing operation per array); pass num_workers=0"
            )
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        if batch_sampler is not None and (
            batch_size != 1 or shuffle or sampler is not None or drop_last
        ):
            raise ValueError(
                "DataLoader: batch_sampler makes the batches itself, so it "
                "excludes batch_size, shuffle, sampler and drop_last"
            )
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: sampler decides the order itself, so it excludes shuffle=True"
            )
        self.dataset = dataset
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.num_workers = 0
        self.collate_fn = collate_fn
        if generator is None:
            self.generator = (
                np.random.default_rng(seed)
                if seed is not None
                else _generator_or_seeded("DataLoader", None)
            )
        else:
            self.generator = _generator_or_seeded("DataLoader", generator)
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=self.generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        self.sampler = sampler
        if batch_sampler is None:
            self.batch_size: int | None = int(batch_size)
            batch_sampler = BatchSampler(sampler, self.batch_size, drop_last)
        else:
            self.batch_size = None
        self.batch_sampler = batch_sampler

    def __len__(self) -> int:
        return len(self.batch_sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        """One epoch of batches: tuples of Tensors (``requires_grad=False``), or what
        ``collate_fn`` makes of each list of examples."""
        from gradgate.tensor import tensor  # lazy: data depends on the core only here

        batches = self._index_batches()
        if self.collate_fn is not None:
            collate = self.collate_fn
            return (collate([self.dataset[int(i)] for i in b]) for b in batches)
        return (tuple(tensor(a) for a in self._fetch(b)) for b in batches)

    def array_batches(self) -> Iterator[tuple[np.ndarray, ...]]:
        """One epoch of batches as tuples of NumPy arrays, the same batches as iterating.

        The epoch's order is drawn when this is called, not when the first batch is taken.
        """
        if self.collate_fn is not None:
            raise ValueError(
                "DataLoader.array_batches stacks the examples itself, but this "
                "loader has a collate_fn: iterate over the loader instead"
            )
        batches = self._index_batches()
        return (self._fetch(b) for b in batches)

    def state_dict(self) -> dict[str, Any]:
        """The shuffling generator's state, as JSON-friendly dicts, strings and integers.

        Taken between epochs and given to `load_state_dict` of a loader over the same
        dataset, it makes that loader produce the epochs this one would produce next.
        """
        return {"generator": copy.deepcopy(self._random_source().bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the shuffling generator from a `state_dict` result."""
        if "generator" not in state:
            raise ValueError(f"DataLoader state needs a 'generator' entry, got keys {list(state)}")
        self._random_source().bit_generator.state = copy.deepcopy(state["generator"])

    def _random_source(self) -> np.random.Generator:
        """The generator the epochs are drawn from: the sampler's own, if it has one."""
        for source in (
            self.batch_sampler,
            getattr(self.batch_sampler, "sampler", None),
            self.sampler,
        ):
            found = getattr(source, "generator", None)
            if isinstance(found, np.random.Generator):
                return found
        return self.generator

    def _index_batches(self) -> list[np.ndarray]:
        """This epoch's batches of example indices, all drawn now."""
        if isinstance(self.batch_sampler, BatchSampler):
            return self.batch_sampler.epoch_batches()
        return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]

    def _fetch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """The examples at ``indices``, one stacked array per field."""
        if isinstance(self.dataset, TensorDataset):
            return tuple(a[indices] for a in self.dataset.arrays)  # one gather per array
        return _collate_arrays([self.dataset[int(i)] for i in indices], type(self.dataset).__name__)


def default_collate(examples: list[Any]) -> tuple[Tensor, ...]:
    """The loader's own batching: examples (arrays, numbers, or tuples of them) stacked
    field by field into one Tensor per field. Useful inside a ``collate_fn`` that changes
    the examples first."""
    from gradgate.tensor import tensor

    return tuple(tensor(a) for a in _collate_arrays(examples, "collate"))


def _collate_arrays(items: list[Any], owner: str) -> tuple[np.ndarray, ...]:
    rows = [item if isinstance(item, tuple) else (item,) for item in items]
    if not rows:
        raise ValueError(f"{owner}: a batch needs at least one example")
    fields = len(rows[0])
    if any(len(row) != fields for row in rows):
        raise ValueError(f"{owner} items must all have the same number of fields")
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
