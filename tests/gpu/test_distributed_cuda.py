"""Gradient buckets on a GPU: packed, weighed and handed back as CuPy arrays.

Skipped where CuPy or a usable NVIDIA GPU is missing (as in CI). Between ranks, CuPy buffers
go to MPI directly with GRADGATE_CUDA_AWARE_MPI=1 and through the host otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import backend, distributed, nn
from gradgate.distributed import comm

REASON = backend.cuda_unavailable_reason()
if REASON is not None:
    pytest.skip(f"no usable GPU: {REASON}", allow_module_level=True)


def test_buckets_on_the_gpu_weigh_the_gradients_and_keep_them_there(monkeypatch):
    monkeypatch.setattr(comm, "_world", comm.World(0, 1))
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to("cuda")
    ddp = distributed.DistributedDataParallel(model, bucket_bytes=40)
    gg.sum(model(gg.randn(5, 3, device="cuda")) ** 2).backward()
    before = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    ddp.allreduce_gradients(weight=0.5)
    for name, p in model.named_parameters():
        assert p.grad.device == "cuda:0"
        assert np.array_equal(p.grad.numpy(), 0.5 * before[name])
