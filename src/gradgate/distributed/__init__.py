"""Data-parallel training on several processes and hosts, over MPI (mpi4py).

    mpiexec -n 4 gradgate train                  # the command splits each batch over 4 ranks
    mpiexec -n 4 python my_training.py           # with the pieces below

    from gradgate import distributed
    world = distributed.init()                   # rank and size; a world of 1 without mpiexec
    model = distributed.DistributedDataParallel(net)
    sampler = distributed.DistributedSampler(len(x), seed=0)

The layout: ``comm`` (the world: rank, size, collectives with a timeout, aborting the job
when a rank fails), ``ddp`` (checking and broadcasting the model, gradients summed in
buckets), ``sampler`` (each rank's share of an epoch), ``loop`` (what the training loop
asks of the ranks). Install MPI with ``pip install "gradgate[mpi]"`` (mpi4py and MPICH).
See docs/distributed.md.
"""

from .comm import (
    INSTALL_HINT,
    DistributedError,
    DistributedTimeout,
    World,
    current,
    finish,
    init,
)
from .ddp import (
    DEFAULT_BUCKET_BYTES,
    DistributedDataParallel,
    broadcast_parameters,
    check_same_model,
)
from .loop import DataParallelLoop, for_this_rank
from .sampler import DistributedSampler

__all__ = [
    "DEFAULT_BUCKET_BYTES",
    "INSTALL_HINT",
    "DataParallelLoop",
    "DistributedDataParallel",
    "DistributedError",
    "DistributedSampler",
    "DistributedTimeout",
    "World",
    "broadcast_parameters",
    "check_same_model",
    "current",
    "finish",
    "for_this_rank",
    "init",
]
