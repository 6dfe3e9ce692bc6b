"""Samplers: which examples an epoch visits, in which order, and how they are grouped.

As in ``torch.utils.data``: a sampler is an iterable of dataset indices, a batch sampler an
iterable of lists of them. Random samplers draw from a NumPy ``Generator``: the one given,
or else a fresh one seeded, when the sampler is made, from gradgate's default generator
(which ``gradgate.manual_seed`` reseeds), so a seeded program draws the same epochs every
run. An epoch's indices are drawn when iteration starts (``iter(sampler)``), all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "WeightedRandomSampler"]


class Sampler:
    """Base class: subclasses define ``epoch_indices()`` (or ``__iter__``) and ``__len__``."""

    def epoch_indices(self) -> np.ndarray:
        """One epoch's indices as an int64 array (drawn now, for a random sampler)."""
        return np.fromiter(iter(self), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices().tolist())

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class SequentialSampler(Sampler):
    """0, 1, ..., n − 1: every example once, in the dataset's order."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def epoch_indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random order of the examples each epoch.

    Without ``replacement`` each epoch is a permutation of all n examples (with
    ``num_samples`` > n: whole permutations one after another, the last one cut short);
    with it, ``num_samples`` (default n) indices drawn uniformly and independently.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(
                f"RandomSampler: replacement must be True or False, got {replacement!r}"
            )
        if num_samples is not None:
            _check_count("RandomSampler", "num_samples", num_samples)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = None if num_samples is None else int(num_samples)
        self.generator = _generator_or_seeded("RandomSampler", generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def epoch_indices(self) -> np.ndarray:
        n, wanted = len(self.data_source), self.num_samples
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: cannot draw from an empty dataset")
            return self.generator.integers(0, n, size=wanted, dtype=np.int64)
        rounds = [self.generator.permutation(n) for _ in range(wanted // n if n else 0)]
        if n and wanted % n:
            rounds.append(self.generator.permutation(n)[: wanted % n])
        return np.concatenate(rounds).astype(np.int64) if rounds else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return self.num_samples


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``
    (index i with probability wᵢ / Σw): with ``replacement`` (the default) independently,
    without it each index at most once. Rebalances classes: weight each example by one
    over its class's count."""

    def __init__(
        self,
        weights: Sequence[float] | np.ndarray,
        num_samples: int,
        replacement: bool = True,
        generator: np.random.Generator | None = None,
    ) -> None:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"WeightedRandomSampler: weights must be a sequence of numbers "
                f"(one dimension), got shape {w.shape}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(
                "WeightedRandomSampler: weights must be finite, non-negative and not all zero"
            )
        if not isinstance(replacement, bool):
            raise TypeError(
                f"WeightedRandomSampler: replacement must be True or False, got {replacement!r}"
            )
        _check_count("WeightedRandomSampler", "num_samples", num_samples)
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: without replacement num_samples "
                f"({num_samples}) cannot exceed the number of non-zero weights "
                f"({np.count_nonzero(w)})"
            )
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = _generator_or_seeded("WeightedRandomSampler", generator)

    def epoch_indices(self) -> np.ndarray:
        p = self.weights / self.weights.sum()
        drawn = self.generator.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return drawn.astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last one shorter,
    or dropped with ``drop_last``)."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _check_count("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last must be True or False, got {drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def epoch_batches(self) -> list[np.ndarray]:
        """One epoch's batches, as index arrays (drawn now)."""
        if isinstance(self.sampler, Sampler):
            order = self.sampler.epoch_indices()
        else:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        size = self.batch_size
        stop = len(order) - len(order) % size if self.drop_last else len(order)
        return [order[start : start + size] for start in range(0, stop, size)]

    def __iter__(self) -> Iterator[list[int]]:  # type: ignore[override]
        return iter([batch.tolist() for batch in self.epoch_batches()])

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _check_count(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")


def _generator_or_seeded(owner: str, generator: Any) -> np.random.Generator:
    """The generator given, or a new one seeded from gradgate's default generator."""
    if generator is None:
        from gradgate.factories import default_generator  # lazy: data needs the core only here

        return np.random.default_rng(int(default_generator().integers(2**63)))
    if not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"{owner}: generator must be a numpy.random.Generator "
            f"(np.random.default_rng(seed)), got {type(generator).__name__}"
        )
    return generator
