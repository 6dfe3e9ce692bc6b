"""The same gates on a GPU through CuPy, checked against NumPy in float64.

Skipped, with the reason shown, where CuPy or a usable NVIDIA GPU is missing (as in CI).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate import backend
from gradgate.gates import samples

REASON = backend.cuda_unavailable_reason()
if REASON is not None:
    pytest.skip(f"no usable GPU: {REASON}", allow_module_level=True)

CASES = [
    (name, k, s)
    for name, cases in sorted(samples(np.random.default_rng(5)).items())
    for k, s in enumerate(cases)
]


def _leaves(sample, device):
    out = []
    for a in sample.inputs:
        t = gg.tensor(a, device=device)
        if a.dtype.kind == "f":
            t.requires_grad_(True)
        out.append(t)
    return out


@pytest.mark.parametrize("name,k,sample", CASES, ids=[f"{n}[{k}]" for n, k, _ in CASES])
def test_gate_on_cuda_matches_numpy(name, k, sample):
    results = {}
    for device in ("cpu", "cuda"):
        params = dict(sample.params)
        if name == "ToDevice":
            params["device"] = "cuda:0" if device == "cuda" else "cpu"
        xs = _leaves(sample, device)
        y = gg.apply(type(sample.gate(name))(**params), *xs)
        g = np.random.default_rng(k).standard_normal(y.shape)
        y.backward(gg.tensor(g, device=y.device))
        results[device] = (y.numpy(), [x.grad.numpy() for x in xs if x.requires_grad])
        if device == "cuda":
            assert all(x.grad.device.startswith("cuda") for x in xs if x.requires_grad)
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-10, atol=1e-12)
    for a, b in zip(results["cuda"][1], results["cpu"][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_second_order_on_cuda_matches_cpu():
    values = np.linspace(-2, 2, 7)
    out = {}
    for device in ("cpu", "cuda"):
        x = gg.tensor(values, requires_grad=True, device=device)
        (g,) = gg.grad((gg.tanh(x) * gg.sigmoid(x)).sum(), x, create_graph=True)
        (h,) = gg.grad(g.sum(), x)
        out[device] = h.numpy()
    np.testing.assert_allclose(out["cuda"], out["cpu"], rtol=1e-10)


def test_mixing_devices_names_the_gate_and_both_devices():
    a = gg.ones(3, device="cuda")
    b = gg.ones(3)
    with pytest.raises(ValueError, match=r"Add: inputs are on different devices \(cuda:0, cpu\)"):
        a + b


def test_transfers_are_differentiable_and_checkpoints_move():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.to("cuda") * 3).sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_lecture_step_on_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    X, T = rng.standard_normal((16, 8)), rng.random((16, 3))
    W1, W2 = rng.standard_normal((5, 8)), rng.standard_normal((3, 5))
    results = {}
    for device in ("cpu", "cuda"):
        w1 = gg.tensor(W1, requires_grad=True, device=device)
        w2 = gg.tensor(W2, requires_grad=True, device=device)
        x, t = gg.tensor(X, device=device), gg.tensor(T, device=device)
        for _ in range(5):
            o2 = gg.sigmoid(gg.matvec(w2, gg.sigmoid(gg.matvec(w1, x))))
            gg.sqerr(o2, t).backward()
            with gg.no_grad():
                for w in (w1, w2):
                    w.sub_(w.grad.data * 0.1)
                    w.grad = None
        results[device] = (w1.numpy(), w2.numpy())
    for a, b in zip(results["cuda"], results["cpu"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_default_training_run_on_cuda_matches_the_cpu_run(tmp_path):
    from gradgate.training import TrainConfig, fit

    results = {}
    for device in ("cpu", "cuda"):
        config = TrainConfig(epochs=3, hidden=(16,), device=device, out=str(tmp_path / device))
        result = fit(config, progress="none")
        results[device] = result
        assert all(p.device.startswith(device) for p in result.model.parameters())
    cpu, cuda = results["cpu"], results["cuda"]
    for (name, a), (_, b) in zip(
        cpu.model.named_parameters(), cuda.model.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    assert abs(cpu.test.accuracy - cuda.test.accuracy) <= 2 / cpu.test.examples
    restored = gg.load(str(tmp_path / "cuda" / "checkpoint.ckpt"))  # a GPU run loads on CPU
    assert restored["model"]["0.weight"].device == "cpu"
    back = gg.load(str(tmp_path / "cpu" / "checkpoint.ckpt"), map_location="cuda")
    assert back["model"]["0.weight"].device == "cuda:0"
