"""Sigmoid and cross-entropy where the floats run out: the tails, huge logits, tiny losses.

The reference is the same formula in extended precision (np.longdouble, 64 mantissa bits
on x86); where the platform has no such type the float64 checks are skipped.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradgate as gg

EXTENDED = np.finfo(np.longdouble).eps < 1e-18
# the smallest |s| whose σ(−|s|) is not a normal number: below it the value is 0 or a
# subnormal, as in PyTorch
NORMAL_UNTIL = {np.float32: 87.0, np.float64: 708.0}


def ulps(ours: np.ndarray, exact: np.ndarray, dtype: type) -> np.ndarray:
    spacing = np.spacing(np.abs(exact.astype(dtype))).astype(np.longdouble)
    return np.abs(ours.astype(np.longdouble) - exact) / spacing


def exact_sigmoid(s: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-s.astype(np.longdouble)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_within_a_few_ulps_in_both_tails(dtype):
    if dtype is np.float64 and not EXTENDED:
        pytest.skip("no extended-precision reference on this platform")
    edge = NORMAL_UNTIL[dtype]
    s = np.linspace(-edge, edge, 200_001).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        large = gg.sigmoid(gg.tensor(s)).numpy()  # small arrays are computed another way
        small = np.concatenate([gg.sigmoid(gg.tensor(part)).numpy()
                                for part in np.array_split(s, 400)])  # fmt: skip
    for o in (large, small):
        error = ulps(o, exact_sigmoid(s), dtype)
        # (1 + tanh(s/2)) / 2 was 2e-4 off at s = −10 in float32, and 0 below s ≈ −17
        assert error[s < 0].max() <= 4 and error[s >= 0].max() <= 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_quiet_and_exact_at_the_extremes(dtype):
    s = np.array([-1e4, -np.inf, 1e4, np.inf, -20.0, -40.0], dtype=dtype)
    for repeat in (1, 10_000):  # a small array and a large one
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e^1e4 overflows to inf: no warning, σ = 0
            o = gg.sigmoid(gg.tensor(np.tile(s, repeat))).numpy()[: len(s)]
        assert o[:4].tolist() == [0.0, 0.0, 1.0, 1.0]
        np.testing.assert_allclose(o[4:], exact_sigmoid(s[4:]).astype(dtype), rtol=4e-7)
        assert o[4] > 0 and o[5] > 0  # σ(−20) was 0 in float32, σ(−40) in float64


def test_log_of_sigmoid_has_pytorchs_value_and_gradient_in_float32():
    s = gg.tensor(np.array([-20.0, -40.0, -80.0], dtype=np.float32), requires_grad=True)
    E = gg.sum(gg.log(gg.sigmoid(s)))  # was −inf with a NaN gradient
    E.backward()
    np.testing.assert_allclose(E.item(), -140.0, rtol=1e-6)
    np.testing.assert_allclose(s.grad.numpy(), [1.0, 1.0, 1.0], rtol=1e-6)


def exact_cross_entropy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ln Σ_j e^(x_j − m) + m − x_y with the max's term (1) outside the sum, as 1 + 1e-18
    would round to 1 even in extended precision."""
    xl = x.astype(np.longdouble)
    rows, top = np.arange(len(y)), xl.argmax(axis=1)
    others = np.exp(xl - xl[rows, top][:, None])
    others[rows, top] = 0
    return np.log1p(others.sum(axis=1)) + (xl[rows, top] - xl[rows, y])


@pytest.mark.parametrize(
    "logits, label",
    [
        ([1e4, 9990.0], 0),  # ln(1 + e^−10) = 4.54e-5 was 0.0 in float32
        ([1000.0, 990.0], 0),  # and 34% too high here
        ([1e4, 9990.0], 1),
    ],
)
def test_cross_entropy_keeps_a_tiny_loss_beside_huge_logits(logits, label):
    loss = float(np.log1p(np.exp(np.longdouble(-10.0)))) + 10.0 * label
    for dtype, rtol in ((np.float32, 4e-7), (np.float64, 1e-15)):
        x = gg.tensor(np.array([logits], dtype=dtype))
        value = gg.cross_entropy(x, gg.tensor(np.array([label]))).item()
        np.testing.assert_allclose(value, loss, rtol=rtol)


@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_cross_entropy_is_float32_precise_at_every_scale(scale):
    rng = np.random.default_rng(int(scale))
    x = (rng.standard_normal((256, 10)) * scale).astype(np.float32)
    y = rng.integers(0, 10, 256)
    x[:128][np.arange(128), y[:128]] = x[:128].max(axis=1) + 12  # losses near e^−12 ≈ 6e-6
    ours = gg.cross_entropy(gg.tensor(x), gg.tensor(y), reduction="none").numpy()
    exact = exact_cross_entropy(x, y)
    # to the loss's own precision (a sum of float32 terms), however small beside the logits
    assert np.all(ulps(ours, exact, np.float32) <= 8)
