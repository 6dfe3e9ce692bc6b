"""What :func:`gradgate.training.fit` does differently on several ranks, in one place.

Every rank draws the batches one process would (the same loader, seed and state), and rank
r of N trains on examples r, r+N, r+2N, ... of each. Its gradient is weighted by its share
of the batch (n_r / n for a loss averaged over the batch, 1 for a summed one) and the ranks
sum them, so N ranks take the very steps one process takes, up to rounding. The step's
loss, correct count and example count are summed too, and the ranks agree after every step
whether Ctrl-C reached any of them, so that all stop after the same one. Because the
batches and the run's position are those of one process, a checkpoint written by any
number of ranks resumes on any other number.

With one rank every method returns what it was given, and nothing is sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import nn
from .comm import World
from .ddp import DistributedDataParallel

if TYPE_CHECKING:
    from ..training.config import TrainConfig


@dataclass
class StepTotals:
    """One step's numbers over all ranks."""

    loss: float  # the batch's loss, as one process would report it
    loss_sum: float  # its contribution to the epoch's loss per example (× examples)
    correct: int
    examples: int


class DataParallelLoop:
    """The training loop's link to the other ranks: share, sum, agree to stop."""

    def __init__(self, model: nn.Module, world: World, summed_loss: bool) -> None:
        self.world = world
        self.summed_loss = summed_loss  # the loss adds over the batch (else: the mean)
        self.ddp = DistributedDataParallel(model, world) if world.size > 1 else None
        self._share = 0  # examples of the current batch on this rank
        self._batch = 0  # and on all ranks

    def share(self, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        """This rank's examples of a batch: rows r, r+N, ... of each array.

        A batch of fewer examples than ranks leaves some ranks none; those train on its
        first example as a stand-in that counts for nothing (its loss, correct count and
        gradient are weighed by 0), so that every rank runs the same step.
        """
        self._batch = len(arrays[0])
        if self.world.size == 1:
            self._share = self._batch
            return arrays
        rank, size = self.world.rank, self.world.size
        shares = tuple(a[rank::size] for a in arrays)
        self._share = len(shares[0])
        return shares if self._share else tuple(a[:1] for a in arrays)

    def totals(self, loss: float, correct: int) -> StepTotals:
        """The batch's loss and correct count over all ranks, from this rank's."""
        n = self._share
        if n == 0:  # a stand-in example: see share()
            loss, correct = 0.0, 0
        loss_sum = loss if self.summed_loss else loss * n
        if self.world.size == 1:
            return StepTotals(loss, loss_sum, correct, n)
        sums = np.array([loss_sum, correct, n], dtype=np.float64)
        self.world.allreduce(sums, what="summing the step's loss")
        loss_sum, examples = float(sums[0]), int(sums[2])
        mean = loss_sum if self.summed_loss else loss_sum / max(examples, 1)
        return StepTotals(mean, loss_sum, int(sums[1]), examples)

    def reduce_gradients(self) -> None:
        """After backward: every rank's gradients ← the whole batch's."""
        if self.ddp is None:
            return
        if self._share == 0:
            weight = 0.0
        else:
            weight = 1.0 if self.summed_loss else self._share / self._batch
        self.ddp.allreduce_gradients(weight)

    def stopping(self, requested: bool) -> bool:
        """Whether to stop here, at a step's end: when any rank was asked to (Ctrl-C reaches
        the ranks at different moments, yet all of them must stop after the same step)."""
        if self.world.size == 1:
            return requested
        flag = np.array([requested], dtype=np.float64)
        return bool(self.world.allreduce(flag, what="agreeing whether to stop")[0])


def for_this_rank(config: TrainConfig, world: World) -> TrainConfig:
    """``config`` as this rank runs it: only rank 0 writes files (``out``)."""
    if world.is_root or config.out is None:
        return config
    return dataclasses.replace(config, out=None)
