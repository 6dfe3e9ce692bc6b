"""Every gate against PyTorch: the same forward value and the same J^T g for a random g.

PyTorch is a test reference only; these tests skip where it is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import leaves, run

torch = pytest.importorskip("torch")


def _axis(p, ndim):
    axis = p.get("axis")
    if axis is None:
        return tuple(range(ndim))
    return axis if isinstance(axis, tuple) else (axis,)


def _index(index):
    return tuple(torch.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)


def _scatter_add(g, p):
    index = _index(p["index"])
    out = torch.zeros(p["shape"], dtype=g.dtype)
    if all(isinstance(i, torch.Tensor) for i in index):
        return out.index_put(index, g, accumulate=True)
    out = out.clone()
    out[index] = out[index] + g  # basic index: every place is selected once
    return out


def _pow(x, y):
    return torch.pow(x, y)


REFERENCE = {
    "Add": lambda p, x, y: x + y,
    "Sub": lambda p, x, y: x - y,
    "Mul": lambda p, x, y: x * y,
    "Div": lambda p, x, y: x / y,
    "Pow": lambda p, x, y: _pow(x, y),
    "Maximum": lambda p, x, y: torch.maximum(x, y),
    "Minimum": lambda p, x, y: torch.minimum(x, y),
    "Where": lambda p, c, x, y: torch.where(c, x, y),
    "Neg": lambda p, x: -x,
    "Exp": lambda p, x: torch.exp(x),
    "Log": lambda p, x: torch.log(x),
    "Sqrt": lambda p, x: torch.sqrt(x),
    "Abs": lambda p, x: torch.abs(x),
    "Tanh": lambda p, x: torch.tanh(x),
    "Sigmoid": lambda p, x: torch.sigmoid(x),
    "Relu": lambda p, x: torch.relu(x),
    "LeakyRelu": lambda p, x: torch.nn.functional.leaky_relu(x, p.get("slope", 0.01)),
    "Softplus": lambda p, x: torch.nn.functional.softplus(x),
    "Clip": lambda p, x: torch.clamp(x, p.get("low"), p.get("high")),
    "Cast": lambda p, x: x.to(getattr(torch, np.dtype(p["dtype"]).name)),
    "Sum": lambda p, x: torch.sum(x, dim=_axis(p, x.ndim), keepdim=p.get("keepdims", False)),
    "Mean": lambda p, x: torch.mean(x, dim=_axis(p, x.ndim), keepdim=p.get("keepdims", False)),
    "Max": lambda p, x: torch.amax(x, dim=_axis(p, x.ndim), keepdim=p.get("keepdims", False)),
    "Min": lambda p, x: torch.amin(x, dim=_axis(p, x.ndim), keepdim=p.get("keepdims", False)),
    "LogSumExp": lambda p, x: torch.logsumexp(
        x, dim=_axis(p, x.ndim), keepdim=p.get("keepdims", False)
    ),
    "Var": lambda p, x: torch.var(
        x, dim=_axis(p, x.ndim), keepdim=p.get("keepdims", False),
        correction=p.get("correction", 1),
    ),
    "Reshape": lambda p, x: x.reshape(p["shape"]),
    "Transpose": lambda p, x: x.permute(p.get("axes") or tuple(range(x.ndim))[::-1]),
    "BroadcastTo": lambda p, x: x.broadcast_to(p["shape"]),
    "GetItem": lambda p, x: x[_index(p["index"])],
    "ScatterAdd": lambda p, g: _scatter_add(g, p),
    "ToDevice": lambda p, x: x.to(p["device"]),
    "Concatenate": lambda p, *xs: torch.cat(xs, dim=p.get("axis", 0)),
    "MatVec": lambda p, W, o: o @ W.T,
    "MatMul": lambda p, a, b: a @ b,
    "SqErr": lambda p, o, t: 0.5 * ((t - o) ** 2).sum(),
    "Softmax": lambda p, x: torch.softmax(x, dim=p.get("axis", -1)),
    "LogSoftmax": lambda p, x: torch.log_softmax(x, dim=p.get("axis", -1)),
    "BCEWithLogits": lambda p, x, t: torch.nn.functional.binary_cross_entropy_with_logits(
        x, t, reduction="none"
    ),
    "CrossEntropy": lambda p, x, y: torch.nn.functional.cross_entropy(x, y, reduction="none"),
}


def test_every_gate_has_a_torch_reference():
    from gradgate.gates import REGISTRY

    assert not sorted(set(REGISTRY) - set(REFERENCE))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_and_backward_match_torch(case, dtype):
    name, _, sample = case
    xs = leaves(sample, dtype=dtype)
    y = run(name, sample, *xs)
    ts = [torch.tensor(x.data, requires_grad=x.requires_grad) for x in xs]
    ty = REFERENCE[name](sample.params, *ts)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
    g = np.random.default_rng(7).standard_normal(y.shape).astype(y.dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for x, t in zip(xs, ts, strict=True):
        if x.requires_grad:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol)
