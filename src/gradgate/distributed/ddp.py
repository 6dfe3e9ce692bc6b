"""Data parallelism: every rank holds the whole model, trains on its share of each batch,
and the ranks sum their gradients before every optimiser step, so that every rank takes the
same step.

With the loss a mean over the batch, rank r's gradient g_r is a mean over its n_r examples,
and the gradient of the whole batch of n = Σ n_r is Σ_r (n_r / n) g_r: each rank weighs its
gradient (by 1/N when the shares are equal) and one Allreduce sums them.

Gradients are packed into a few flat buffers ("buckets", as PyTorch's DDP and Horovod's
tensor fusion do) and each bucket is one Allreduce: a call costs a latency α plus its bytes
over the bandwidth β, and many small parameters in one call pay α once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .. import backend, nn
from ..engine import is_grad_enabled
from ..tensor import Tensor, tensor
from .comm import DistributedError, World, current

DEFAULT_BUCKET_BYTES = 25 * 2**20  # as PyTorch's bucket_cap_mb=25


def check_same_model(module: nn.Module, world: World | None = None) -> None:
    """DistributedError on every rank unless every rank's module has parameters of the same
    names, shapes and dtypes, in the same order; the message names the first that differs."""
    world = world if world is not None else current()
    ours = [[name, list(p.shape), str(p.dtype)] for name, p in module.named_parameters()]
    everyone = world.allgather_json(ours, what="comparing the ranks' models")
    root = everyone[0]
    for rank, theirs in enumerate(everyone[1:], start=1):
        problem = _first_difference(root, theirs, rank)
        if problem:
            raise DistributedError(f"the ranks' models differ: {problem}")


def _first_difference(root: list[list[Any]], theirs: list[list[Any]], rank: int) -> str | None:
    pairs = zip(root, theirs, strict=False)
    for i, ((name, shape, dtype), (their_name, their_shape, their_dtype)) in enumerate(pairs):
        if name != their_name:
            return f"parameter {i + 1} is {name!r} on rank 0 but {their_name!r} on rank {rank}"
        if shape != their_shape:
            return (
                f"parameter {name!r} has shape {tuple(shape)} on rank 0 but "
                f"{tuple(their_shape)} on rank {rank}"
            )
        if dtype != their_dtype:
            return f"parameter {name!r} is {dtype} on rank 0 but {their_dtype} on rank {rank}"
    if len(root) != len(theirs):
        longer, rank_of = (root, 0) if len(root) > len(theirs) else (theirs, rank)
        extra = longer[min(len(root), len(theirs))][0]
        return (
            f"rank 0 has {len(root)} parameters and rank {rank} {len(theirs)}: "
            f"{extra!r} is only on rank {rank_of}"
        )
    return None


def broadcast_parameters(module: nn.Module, world: World | None = None, root: int = 0) -> None:
    """Give every rank rank ``root``'s parameter values (after checking that the models
    match), so that training starts from the same weights everywhere."""
    world = world if world is not None else current()
    if world.size == 1:
        return
    check_same_model(module, world)
    values = {}
    for name, p in module.named_parameters():
        values[name] = world.broadcast(p.data.copy(), root, what=f"broadcast of {name!r}")
    module.load_state_dict(values)


class _Bucket:
    """Parameters of one dtype and device whose gradients travel in one flat buffer:
    their gradients end to end, then one count per parameter of the ranks that had one."""

    def __init__(self, parameters: list[Tensor]) -> None:
        self.parameters = parameters
        self.sizes = [p.size for p in parameters]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int).tolist()
        self.elements = self.offsets[-1]
        host = np.zeros(self.elements + len(parameters), dtype=parameters[0].dtype)
        self.buffer = backend.to_device(host, parameters[0].device)

    @property
    def bytes(self) -> int:
        return self.elements * self.buffer.dtype.itemsize

    def reduce(self, world: World, weight: float, what: str) -> None:
        """Replace each parameter's gradient by the weighted sum over the ranks."""
        buffer, offsets, end = self.buffer, self.offsets, self.elements
        multiply = backend.namespace_of(buffer).multiply
        for i, p in enumerate(self.parameters):
            g = p.grad
            if g is None:
                buffer[offsets[i] : offsets[i + 1]] = 0
                buffer[end + i] = 0
            else:  # weighed as it is packed: one pass over the gradient
                multiply(g.data.reshape(-1), weight, out=buffer[offsets[i] : offsets[i + 1]])
                buffer[end + i] = 1
        world.allreduce(buffer, what=what)
        for i, p in enumerate(self.parameters):
            if buffer[end + i] > 0:  # some rank had a gradient: the sum is everyone's
                p.grad = tensor(buffer[offsets[i] : offsets[i + 1]].reshape(p.shape))
            else:
                p.grad = None


def make_buckets(parameters: list[Tensor], bucket_bytes: int) -> list[_Bucket]:
    """Consecutive parameters grouped into buckets of at most ``bucket_bytes`` of gradient
    (a larger parameter gets a bucket of its own), one dtype and device per bucket."""
    buckets: list[_Bucket] = []
    group: list[Tensor] = []
    size = 0
    for p in parameters:
        nbytes = p.size * p.dtype.itemsize
        fits = group and (p.dtype, p.device) == (group[0].dtype, group[0].device)
        if group and (not fits or size + nbytes > bucket_bytes):
            buckets.append(_Bucket(group))
            group, size = [], 0
        group.append(p)
        size += nbytes
    if group:
        buckets.append(_Bucket(group))
    return buckets


class DistributedDataParallel(nn.Module):
    """``module`` trained data-parallel: the same weights on every rank, gradients averaged.

        model = DistributedDataParallel(net)      # checks the ranks' models, broadcasts rank 0's
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        for x, t in my_share_of_each_batch:
            optimizer.zero_grad()
            loss_fn(model(x), t).backward()
            model.allreduce_gradients()           # before step: every rank, every step
            optimizer.step()

    Calling it calls ``module``. ``allreduce_gradients(weight)`` replaces every gradient by
    Σ_ranks weight · gradient (``weight`` defaults to 1/N, the mean of equal shares); a
    parameter no rank has a gradient for keeps None. A second forward pass in training
    mode, with gradients on and no ``allreduce_gradients()`` since the first, is an error
    (the ranks would step apart); gradient accumulation runs its extra passes inside
    ``with model.no_sync():``. As in PyTorch, ``state_dict()`` names are prefixed
    ``module.``: save ``model.module.state_dict()``.
    """

    def __init__(
        self,
        module: nn.Module,
        world: World | None = None,
        bucket_bytes: int = DEFAULT_BUCKET_BYTES,
        broadcast: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(bucket_bytes, int) or bucket_bytes < 1:
            raise ValueError(f"bucket_bytes must be a positive integer, got {bucket_bytes!r}")
        self.module = module
        self.world = world if world is not None else current()
        if broadcast:
            broadcast_parameters(module, self.world)
        elif self.world.size > 1:
            check_same_model(module, self.world)
        trained = [p for p in module.parameters() if p.requires_grad]
        self.buckets = make_buckets(trained, bucket_bytes)
        self._pending = False  # a training forward pass whose gradients are not reduced yet
        self._accumulating = False

    def forward(self, *inputs: Any, **options: Any) -> Any:
        if self.training and is_grad_enabled() and not self._accumulating:
            if self._pending:
                raise RuntimeError(
                    "DistributedDataParallel: a second training forward pass without "
                    "allreduce_gradients() after the first one's backward (the ranks would "
                    "step apart); accumulate gradients inside no_sync()"
                )
            self._pending = True
        return self.module(*inputs, **options)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forward passes whose gradients accumulate locally, to be reduced later."""
        previous, self._accumulating = self._accumulating, True
        try:
            yield
        finally:
            self._accumulating = previous

    def allreduce_gradients(self, weight: float | None = None) -> None:
        """Every gradient ← Σ over the ranks of ``weight`` × that rank's gradient, the same
        on every rank (``weight`` defaults to 1/N: the mean)."""
        self._pending = False
        world = self.world
        weight = 1.0 / world.size if weight is None else float(weight)
        if world.size == 1 and weight == 1:
            return
        for i, bucket in enumerate(self.buckets):
            bucket.reduce(world, weight, what=f"gradient bucket {i + 1} of {len(self.buckets)}")

    def extra_repr(self) -> str:
        sizes = ", ".join(f"{b.bytes / 2**20:.2f}" for b in self.buckets)
        return f"ranks={self.world.size}, buckets (MiB)=[{sizes}]"
