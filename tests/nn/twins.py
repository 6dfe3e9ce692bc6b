"""A gradgate module next to its PyTorch twin: the twin's weights copied in through
``load_state_dict`` (its state dict converted to arrays), then outputs, gradients of inputs
and parameters, and buffers compared."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg

torch = pytest.importorskip("torch")

TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def compare(ours, theirs, inputs, dtype=np.float64, call=None, differentiate=None, steps=1):
    """Run both modules on ``inputs`` (arrays; floating ones are differentiated unless
    ``differentiate`` says which) and assert they agree. ``call(module, *inputs)`` calls the
    module (default: ``module(*inputs)``). Returns our outputs."""
    tol = TOLERANCE[dtype]
    theirs = theirs.to(TORCH_DTYPE[dtype])
    ours.to(dtype)
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state)
    call = call or (lambda m, *a: m(*a))
    rng = np.random.default_rng(5)
    for _ in range(steps):
        xs, ts = [], []
        for k, a in enumerate(inputs):
            floating = a is not None and np.asarray(a).dtype.kind == "f"
            grad = floating and (differentiate is None or k in differentiate)
            if a is None:
                xs.append(None)
                ts.append(None)
            elif floating:
                xs.append(gg.tensor(np.array(a, dtype=dtype), requires_grad=grad))
                ts.append(torch.tensor(np.array(a, dtype=dtype), requires_grad=grad))
            else:
                xs.append(np.asarray(a))
                ts.append(torch.as_tensor(np.asarray(a)))
        ours.zero_grad()
        theirs.zero_grad()
        outs, touts = _flat(call(ours, *xs)), _flat(call(theirs, *ts))
        assert len(outs) == len(touts)
        loss, tloss = 0, 0
        for o, t in zip(outs, touts, strict=True):
            np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **tol)
            if t.requires_grad:
                r = rng.standard_normal(t.shape).astype(dtype)
                loss = loss + gg.sum(o * r)
                tloss = tloss + (t * torch.tensor(r)).sum()
        if not isinstance(loss, int):
            loss.backward()
            tloss.backward()
            for x, t in zip(xs, ts, strict=True):
                if isinstance(t, torch.Tensor) and t.requires_grad:
                    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol)
            theirs_params = dict(theirs.named_parameters())
            for name, p in ours.named_parameters():
                t = theirs_params[name]
                if t.grad is None:
                    assert p.grad is None or not np.any(p.grad.numpy()), name
                else:
                    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), **tol, err_msg=name)
        theirs_buffers = dict(theirs.named_buffers())
        for name, b in ours.named_buffers():
            np.testing.assert_allclose(b.numpy(), theirs_buffers[name].numpy(), **tol, err_msg=name)
    return outs
