"""Each rank's share of a data set, one epoch at a time, as ``torch.utils.data``'s
DistributedSampler deals it out.

Every rank draws the same permutation of the n examples (from ``seed`` and the epoch, so no
message is needed), pads it by repeating its start up to a multiple of the number of ranks
N (or, with ``drop_last``, cuts it down to one), and takes every N-th index from its rank
on. The shards are disjoint and together hold every example once per epoch (plus the
padding). Because rank r's k-th batch of b is positions r, r+N, ... of the permutation's
k-th stretch of N·b, the N ranks' k-th batches together are the k-th batch of N·b one
process would cut from the same permutation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .comm import current


class DistributedSampler:
    """This rank's indices of a data set of ``len(dataset)`` examples (or ``dataset``
    itself, an int), for the epoch set by :meth:`set_epoch`.

        sampler = DistributedSampler(len(x), seed=0)       # rank and world from init()
        for epoch in range(epochs):
            sampler.set_epoch(epoch)                       # a new order every epoch
            for indices in sampler.batches(batch_size // world.size):
                train_on(x[indices], y[indices])

    Shuffled orders come from ``np.random.default_rng([seed, epoch])``: the same seed and
    epoch give the same order on every rank and in every run. As in PyTorch, the epoch is
    0 until set; :func:`gradgate.training.fit` cuts each batch itself and needs no sampler.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            world = current()
            num_replicas = world.size if num_replicas is None else num_replicas
            rank = world.rank if rank is None else rank
        self.num_replicas = num_replicas
        self.rank = rank
        if self.num_replicas < 1 or not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"rank {self.rank} is not one of {self.num_replicas} ranks")
        self.size = dataset if isinstance(dataset, int) else len(dataset)
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        if drop_last:  # the largest multiple of N that fits
            self.num_samples = self.size // self.num_replicas
        else:
            self.num_samples = math.ceil(self.size / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Draw the order of epoch ``epoch`` next (each epoch's order differs)."""
        self.epoch = epoch

    def order(self) -> np.ndarray:
        """The whole epoch's order, the same on every rank, before padding and dealing."""
        if self.shuffle:
            return np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        return np.arange(self.size)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, ``num_samples`` of them."""
        order = self.order()
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > self.size:
            order = np.resize(order, self.total_size)  # repeats the start as padding
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def batches(self, batch_size: int, drop_last: bool = False) -> Iterator[np.ndarray]:
        """This rank's indices for the epoch in runs of ``batch_size`` (the last one shorter
        unless ``drop_last``)."""
        indices = self.indices()
        stop = len(indices) - len(indices) % batch_size if drop_last else len(indices)
        for start in range(0, stop, batch_size):
            yield indices[start : start + batch_size]
