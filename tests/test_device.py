"""Devices on a machine without a GPU: names, transfers that are no-ops, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import backend


def test_cpu_is_the_default_and_transfers_to_it_are_free():
    x = gg.tensor([1.0, 2.0], requires_grad=True, device="cpu")
    assert x.device == "cpu"
    assert x.to("cpu") is x and x.cpu() is x
    for make in (gg.zeros, gg.ones, gg.randn, gg.rand):
        assert make(2, 3, device="cpu").device == "cpu"
    assert gg.arange(3, device="CPU").device == "cpu"
    assert gg.eye(2, device="cpu").device == "cpu"


def test_device_names_are_checked():
    assert backend.parse_device(None) == "cpu"
    assert backend.parse_device(" CPU ") == "cpu"
    for bad in ("tpu", "cuda:x", "gpu"):
        with pytest.raises(ValueError, match="unknown device"):
            backend.parse_device(bad)


@pytest.mark.skipif(backend.cuda_unavailable_reason() is None, reason="a GPU is usable here")
def test_cuda_without_a_gpu_fails_with_one_line_that_says_why():
    reason = backend.cuda_unavailable_reason()
    with pytest.raises(RuntimeError) as info:
        gg.tensor([1.0], device="cuda")
    message = str(info.value)
    assert "\n" not in message and reason in message
    assert "CuPy" in message or "GPU" in message or "CUDA" in message
    with pytest.raises(RuntimeError, match="not available"):
        gg.zeros(2).to("cuda:0")


def test_to_device_gate_is_the_identity_on_one_device():
    x = gg.tensor(np.arange(3.0), requires_grad=True)
    y = gg.engine.apply(gg.gates.shape.ToDevice("cpu"), x)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
