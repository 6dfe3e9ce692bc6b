"""Every optimiser takes the same steps on a GPU (CuPy arrays) as on the CPU, float64.

Skipped, with the reason shown, where CuPy or a usable NVIDIA GPU is missing (as in CI).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import backend, optim

REASON = backend.cuda_unavailable_reason()
if REASON is not None:
    pytest.skip(f"no usable GPU: {REASON}", allow_module_level=True)

rng = np.random.default_rng(1)
W0, X, T = rng.standard_normal((3, 4)), rng.standard_normal((6, 4)), rng.standard_normal((6, 3))

CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "maximize": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"centered": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adadelta", {}),
    ("Adamax", {"weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01}),
    ("LBFGS", {"max_iter": 3, "line_search_fn": "strong_wolfe"}),
]


def run(name, options, device):
    W = gg.tensor(W0, requires_grad=True, device=device)
    x, t = gg.tensor(X, device=device), gg.tensor(T, device=device)
    opt = getattr(optim, name)([W], **options)

    def closure():
        opt.zero_grad()
        r = gg.tanh(gg.matvec(W, x)) - t
        E = gg.sum(r * r)
        E.backward()
        return E

    for _ in range(5):
        opt.step(closure)
    assert W.device == device
    return W.numpy()


@pytest.mark.parametrize("name, options", CASES, ids=[n for n, _ in CASES])
def test_optimiser_on_cuda_matches_cpu(name, options):
    np.testing.assert_allclose(
        run(name, options, "cuda"), run(name, options, "cpu"), rtol=1e-10, atol=1e-12
    )
