"""Every gate at extreme and special inputs, and at its kinks (docs/numerics.md).

* ±1e4, ±1e-30, 0, ±inf and NaN, in every element or in one, float64 and float32: NumPy
  must not warn (overflow, divide, invalid) where PyTorch's answer is finite, and values,
  NaN and Inf must land where PyTorch puts them.
* Empty arrays, 0-d arrays and size-1 broadcast dimensions: accepted where PyTorch accepts
  them (with the same answer), refused with ValueError/IndexError where it refuses them.
* Kinks (relu and abs at 0, ties of max/min/maximum/minimum, clip at its bounds) have the
  subgradients docs/numerics.md lists; they are checked against fixed numbers, and against
  PyTorch where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg
from gradgate.gates import REGISTRY, Sample, samples

from .reference import differences, needs_torch, run_gradgate, run_torch, torch

SAMPLES = samples(np.random.default_rng(2024))
SPECIAL = [1e4, -1e4, 1e-30, -1e-30, 0.0, np.inf, -np.inf, np.nan]

# Inputs that are not data: special values there are outside the gate's domain.
NOT_DATA = {"BCEWithLogits": {1}}  # the targets, probabilities in [0, 1]

# Where gradgate's answer at ±inf (or 0 for Pow) differs from PyTorch's only where PyTorch's
# is not finite (docs/numerics.md, "Infinite inputs"); the finite places must still agree.
NON_FINITE_DIFFERS = {
    "BCEWithLogits": "logit ±inf: NaN (PyTorch ±inf)",
    "LogSoftmax": "+inf in a slice: −inf beside NaN (PyTorch: NaN for the slice)",
    "Pow": "d/dy at x = 0, y < 0: NaN (PyTorch −inf)",
    "Gelu": "float32 +inf: +inf (PyTorch NaN)",
    "Softsign": "d/dx at ±inf: 0 (PyTorch NaN)",
    "Prod": "±inf in a slice: the product of the others (PyTorch: NaN from inf / inf)",
    "Cumprod": "±inf in a slice: the products of the others (PyTorch: NaN from inf / inf)",
    "Median": "±inf in every element: NumPy's ±inf (the reference, torch.quantile: NaN)",
    "Einsum": "±inf in a chain of three: another contraction order puts inf − inf elsewhere",
}

# The gradient with respect to a NaN element is not PyTorch's for these; the forward value
# is (NaN), and test_gradient_at_nan_is_as_documented pins down the gradient.
NAN_GRADIENT_DIFFERS = {
    "Abs",
    "Relu",
    "Maximum",
    "Minimum",
    "Hardtanh",
    "Cumprod",
    "Median",
    "VectorNorm",
}


def _float_inputs(name: str, sample: Sample) -> list[int]:
    skip = NOT_DATA.get(name, set())
    return [k for k, a in enumerate(sample.inputs) if a.dtype.kind == "f" and k not in skip]


def _params(name: str, sample: Sample, dtype) -> dict:
    if name == "Cast":  # a real conversion: to the other float type
        return {"dtype": np.float64 if dtype == np.float32 else np.float32}
    return dict(sample.params)


def _special_cases(name: str):
    """(description, params, arrays) with special values put in, for every sample."""
    for n, sample in enumerate(SAMPLES[name]):
        data = _float_inputs(name, sample)
        for dtype in (np.float64, np.float32):
            for v in SPECIAL:
                # every element of every data input; then one element of each input alone
                for where in ["all", *data]:
                    arrays = []
                    for k, a in enumerate(sample.inputs):
                        if a.dtype.kind == "f":
                            a = a.astype(dtype)
                            if where == "all" and k in data:
                                a = np.full_like(a, v)
                            elif where == k:
                                a = a.copy()
                                a.reshape(-1)[:1] = v
                        arrays.append(a)
                    what = "every element" if where == "all" else f"one element of input {where}"
                    yield (
                        f"{name}[{n}] {np.dtype(dtype).name} {v!r} in {what}",
                        _params(name, sample, dtype),
                        arrays,
                        v,
                        dtype,
                    )


# Matrix functions: a special value in every element (or in one) makes a singular,
# indefinite or non-finite matrix, outside the gate's domain, where LAPACK in NumPy and in
# PyTorch refuse or answer differently. There gradgate must refuse with ValueError
# (numpy.linalg.LinAlgError is one) or answer; where PyTorch answers finitely and gradgate
# does too, the answers must agree (in float64: in float32 an ill-conditioned matrix's
# factors carry errors of cond(A)·ε, which two LAPACKs do not share).
MATRIX_DOMAIN = {"Inv", "Solve", "Det", "SlogDet", "Cholesky", "Eigh", "Svd", "Qr", "Pinv"}

GATES = sorted(REGISTRY)


@needs_torch
@pytest.mark.parametrize("name", GATES)
def test_special_values_warn_only_where_the_result_is_not_finite_and_match_torch(name):
    failures = []
    for what, params, arrays, v, dtype in _special_cases(name):
        ours = run_gradgate(name, params, arrays)
        theirs = run_torch(name, params, arrays)
        if name in MATRIX_DOMAIN and (
            theirs.error is not None
            or ours.error is not None
            or not theirs.finite()
            or dtype == np.float32
        ):
            if ours.error is not None and not isinstance(ours.error, ValueError):
                failures.append(f"{what}: raised {ours.error!r}, not a ValueError")
            continue
        assert theirs.error is None, f"{what}: the torch reference failed: {theirs.error}"
        if ours.error is not None:
            failures.append(f"{what}: raised {ours.error!r}")
            continue
        if theirs.finite() and ours.warnings:
            failures.append(f"{what}: NumPy warned {ours.warnings} where the answer is finite")
        finite_only = name in NON_FINITE_DIFFERS and (np.isinf(v) or v == 0)
        if np.isnan(v) and name in NAN_GRADIENT_DIFFERS:
            ours.grads = theirs.grads = []  # values only; the gradient is pinned below
        failures += [f"{what}: {p}" for p in differences(ours, theirs, dtype, finite_only)]
    assert not failures, "\n".join(failures[:10])


def test_no_gate_lacks_special_value_cases():
    assert all(list(_special_cases(name)) for name in GATES)


# --- NaN propagates (NumPy only) ---------------------------------------------------------

NAN = np.nan


@pytest.mark.parametrize(
    "f, x, expected",
    [
        (gg.relu, [NAN, -1.0, 2.0], [NAN, 0.0, 2.0]),
        (lambda x: gg.leaky_relu(x, 0.1), [NAN, -1.0], [NAN, -0.1]),
        (gg.abs, [NAN, -1.0], [NAN, 1.0]),
        (lambda x: gg.max(x), [1.0, NAN, 3.0], NAN),
        (lambda x: gg.min(x), [1.0, NAN, 3.0], NAN),
        (lambda x: gg.max(x, axis=1), [[1.0, NAN], [2.0, 3.0]], [NAN, 3.0]),
        (lambda x: gg.maximum(x, 5.0), [NAN, 1.0], [NAN, 5.0]),
        (lambda x: gg.minimum(x, -5.0), [NAN, 1.0], [NAN, -5.0]),
        (lambda x: gg.clip(x, -1.0, 1.0), [NAN, 3.0], [NAN, 1.0]),
        (lambda x: gg.where(np.array([True, False]), x, 0.0), [NAN, NAN], [NAN, 0.0]),
        (lambda x: gg.where(np.array([True, False]), 0.0, x), [NAN, NAN], [0.0, NAN]),
        (gg.sigmoid, [NAN], [NAN]),
        (gg.softplus, [NAN], [NAN]),
        (lambda x: gg.softmax(x), [[NAN, 1.0], [0.0, 0.0]], [[NAN, NAN], [0.5, 0.5]]),
        (lambda x: gg.logsumexp(x, axis=1), [[NAN, 1.0], [0.0, 0.0]], [NAN, np.log(2.0)]),
        (lambda x: gg.sum(x), [1.0, NAN], NAN),
        (lambda x: gg.var(x), [1.0, NAN], NAN),
    ],
)
def test_nan_propagates_and_is_never_hidden(f, x, expected):
    with np.errstate(invalid="ignore"):  # NumPy warns for logaddexp(0, NaN)
        y = f(gg.tensor(np.array(x), requires_grad=True))
    np.testing.assert_array_equal(y.numpy(), np.array(expected))


def test_a_nan_extremum_gives_a_nan_gradient_without_warning():
    x = gg.tensor(np.array([[1.0, NAN, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)
    for reduce in (gg.max, gg.min):
        x.grad = None
        with np.errstate(all="raise"):
            reduce(x, axis=1).sum().backward()
        np.testing.assert_array_equal(
            x.grad.numpy(),
            [[NAN] * 3, [0.0, 0.0, 1.0]] if reduce is gg.max else [[NAN] * 3, [1.0, 0.0, 0.0]],
        )


# The gradient with respect to an element that is NaN (docs/numerics.md, "NaN"): a row per
# gate, g = 1 upstream; PyTorch's answer where it differs.
NAN_GRADIENTS = [
    ("relu", gg.relu, [NAN], [0.0]),  # PyTorch: 1 (it tests s <= 0)
    ("abs", gg.abs, [NAN], [NAN]),  # PyTorch: 0 (sign(NaN) = 0 there)
    ("leaky_relu", lambda x: gg.leaky_relu(x, 0.1), [NAN], [0.1]),
    ("clip", lambda x: gg.clip(x, -1.0, 1.0), [NAN], [0.0]),
    ("hardtanh", gg.hardtanh, [NAN], [0.0]),  # PyTorch: 1 or 0, by dtype and position
    ("maximum", lambda x: gg.maximum(x, 1.0), [NAN], [0.0]),  # PyTorch: 1 to both
    ("minimum", lambda x: gg.minimum(x, 1.0), [NAN], [0.0]),  # PyTorch: 1 to both
    ("max", lambda x: gg.max(x), [NAN, 1.0], [NAN, NAN]),
    ("min", lambda x: gg.min(x), [NAN, 1.0], [NAN, NAN]),
    ("sigmoid", gg.sigmoid, [NAN], [NAN]),
    ("exp", gg.exp, [NAN], [NAN]),
]


@pytest.mark.parametrize("name, f, x, expected", NAN_GRADIENTS, ids=[r[0] for r in NAN_GRADIENTS])
def test_gradient_at_nan_is_as_documented(name, f, x, expected):
    t = gg.tensor(np.array(x), requires_grad=True)
    f(t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), expected)


# --- empty, 0-d and size-1 broadcast inputs ----------------------------------------------

# Gates that refuse, by design, what PyTorch's counterpart accepts (docs/numerics.md).
REFUSED = {
    "SqErr": "size-1",  # the lecture's SqErr wants the output and the target of one shape
    "LogSumExp": "empty-axis",  # reducing an empty axis: PyTorch gives −inf; max() refuses
    "Softmax": "empty-axis",
    "LogSoftmax": "empty-axis",
    "Normalize": "empty-axis",  # no mean or variance of nothing; PyTorch gives NaN
    "Pad": "empty-axis",  # reflect, edge and wrap have nothing to copy from an empty tensor
    "Conv": "empty-axis",  # 0 input channels: PyTorch gives 0 output channels
}


def _shape_cases(name: str):
    """Each sample with an aligned axis emptied, as 0-d arrays, and with a size-1 axis."""
    rng = np.random.default_rng(11)
    for n, sample in enumerate(SAMPLES[name]):
        arrays = sample.inputs
        ndim = max(a.ndim for a in arrays)
        for axis in range(1, ndim + 1):  # counted from the right, as broadcasting aligns
            emptied = []
            for a in arrays:
                if a.ndim >= axis and a.shape[-axis] > 1:
                    shape = list(a.shape)
                    shape[-axis] = 0
                    a = np.zeros(shape, a.dtype) if a.dtype.kind != "f" else rng.random(shape)
                emptied.append(a)
            yield f"{name}[{n}] empty axis -{axis}", "empty-axis", sample.params, emptied
        scalars = [np.asarray(a.reshape(-1)[0]) for a in arrays]
        yield f"{name}[{n}] 0-d", "0-d", sample.params, scalars
        for k, a in enumerate(arrays):
            for axis in range(1, a.ndim + 1):
                if a.dtype.kind == "f" and a.shape[-axis] > 1:
                    one = list(arrays)
                    one[k] = np.ascontiguousarray(a.take([0], axis=a.ndim - axis))
                    yield (
                        f"{name}[{n}] input {k} size 1 at axis -{axis}",
                        "size-1",
                        sample.params,
                        one,
                    )


@needs_torch
@pytest.mark.parametrize("name", GATES)
def test_empty_scalar_and_size_one_inputs_behave_as_in_torch(name):
    failures = []
    for what, kind, params, arrays in _shape_cases(name):
        ours = run_gradgate(name, params, arrays)
        theirs = run_torch(name, params, arrays)
        shapes = [a.shape for a in arrays]
        refused = theirs.error is not None or (
            REFUSED.get(name) == kind and isinstance(ours.error, ValueError)
        )
        if refused or ours.error is not None:
            if not refused:
                failures.append(f"{what} {shapes}: raised {ours.error!r}; torch accepts it")
            elif not isinstance(ours.error, (ValueError, IndexError)):
                failures.append(
                    f"{what} {shapes}: expected ValueError or IndexError, got {ours.error!r}"
                )
            continue
        if theirs.finite() and ours.warnings:
            failures.append(f"{what} {shapes}: NumPy warned {ours.warnings}")
        failures += [f"{what} {shapes}: {p}" for p in differences(ours, theirs, np.float64)]
    assert not failures, "\n".join(failures[:10])


def test_matvec_with_an_empty_layer_has_empty_gradients():
    W = gg.tensor(np.zeros((0, 4)), requires_grad=True)  # a layer with no outputs
    o = gg.tensor(np.ones((5, 4)), requires_grad=True)
    gg.matvec(W, o).sum().backward()
    assert W.grad.shape == (0, 4)
    np.testing.assert_array_equal(o.grad.numpy(), np.zeros((5, 4)))


@pytest.mark.parametrize("axis", [0, -1, None, ()])
def test_reducing_a_0d_tensor_over_its_axis_is_the_identity(axis):
    x = gg.tensor(np.array(3.0), requires_grad=True)
    for reduce in (gg.sum, gg.mean, gg.max, gg.min, gg.logsumexp):
        x.grad = None
        y = reduce(x, axis=axis)
        assert y.shape == () and y.item() == pytest.approx(3.0)
        y.backward()
        assert x.grad.item() == 1.0


def test_gates_that_compare_or_take_signs_differentiate_0d_tensors_twice():
    """A comparison or sign of 0-d arrays gives a NumPy scalar; where() and sign() must
    turn it back into an array, or the create_graph path of relu, pow, abs fails."""
    x = gg.tensor(np.array(0.5), requires_grad=True)
    assert gg.where(x > 0, x, 0.0).item() == 0.5
    (g,) = gg.grad(gg.relu(x), x, create_graph=True)
    assert g.item() == 1.0
    for f, second in ((lambda t: t**3.0, 3.0), (lambda t: gg.abs(t) * t, 2.0)):
        (g,) = gg.grad(f(x), x, create_graph=True)
        (h,) = gg.grad(g, x)
        assert h.item() == pytest.approx(second)


def test_max_of_a_0d_tensor_differentiates_twice():
    x = gg.tensor(np.array(0.5), requires_grad=True)
    (g,) = gg.grad(gg.max(x * x), x, create_graph=True)
    assert gg.grad(g, x)[0].item() == pytest.approx(2.0)


# --- kinks --------------------------------------------------------------------------------

# (name, gradgate function, torch function (None: same name), inputs, expected gradients)
# for g = [1, 2, 3, ...] upstream; docs/numerics.md lists the same subgradients.
KINKS = [
    ("relu at ±0", gg.relu, "relu", [[0.0, -0.0, 1.0]], [[0.0, 0.0, 3.0]]),
    ("abs at ±0", gg.abs, "abs", [[0.0, -0.0, -2.0]], [[0.0, 0.0, -3.0]]),
    (
        "leaky_relu at 0",
        lambda x: gg.leaky_relu(x, 0.1),
        lambda x: torch.nn.functional.leaky_relu(x, 0.1),
        [[0.0, -0.0]],
        [[0.1, 0.2]],
    ),
    (
        "max: three-way tie",
        lambda x: gg.max(x),
        "amax",
        [[1.0, 3.0, 3.0, 2.0, 3.0]],
        [[0.0, 1 / 3, 1 / 3, 0.0, 1 / 3]],
    ),
    (
        "max along an axis: tie in one row",
        lambda x: gg.max(x, axis=1),
        lambda x: torch.amax(x, 1),
        [[[1.0, 1.0], [2.0, 0.0]]],
        [[[0.5, 0.5], [2.0, 0.0]]],
    ),
    ("min: tie", lambda x: gg.min(x), "amin", [[1.0, 1.0, 2.0]], [[0.5, 0.5, 0.0]]),
    ("maximum: tie", gg.maximum, "maximum", [[1.0, 2.0], [1.0, 0.0]], [[0.5, 2.0], [0.5, 0.0]]),
    ("minimum: tie", gg.minimum, "minimum", [[1.0, 2.0], [1.0, 0.0]], [[0.5, 0.0], [0.5, 2.0]]),
    (
        "clip at its bounds",
        lambda x: gg.clip(x, -1.0, 1.0),
        lambda x: torch.clamp(x, -1.0, 1.0),
        [[-1.0, 1.0, -2.0, 2.0, 0.0]],
        [[1.0, 2.0, 0.0, 0.0, 5.0]],
    ),
    (
        "clip with low = high",
        lambda x: gg.clip(x, 1.0, 1.0),
        lambda x: torch.clamp(x, 1.0, 1.0),
        [[0.0, 1.0, 2.0]],
        [[0.0, 2.0, 0.0]],
    ),
    (
        "pow x**0 at x = 0",
        lambda x, y: x**y,
        "pow",
        [[0.0, 0.0], [0.0, 2.0]],
        [[0.0, 0.0], [0.0, 0.0]],
    ),
    ("sqrt at 0", gg.sqrt, "sqrt", [[0.0]], [[np.inf]]),
]


def _upstream(y) -> np.ndarray:
    return np.arange(1.0, y.size + 1).reshape(y.shape)


@pytest.mark.parametrize("name, f, _, inputs, expected", KINKS, ids=[k[0] for k in KINKS])
def test_kink_subgradient_is_the_documented_one(name, f, _, inputs, expected):
    xs = [gg.tensor(np.array(a), requires_grad=True) for a in inputs]
    with np.errstate(divide="ignore"):  # sqrt's 1/(2·0)
        y = f(*xs)
        y.backward(_upstream(y))
    for x, e in zip(xs, expected, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), e, rtol=1e-15)


@needs_torch
@pytest.mark.parametrize("name, f, reference, inputs, _", KINKS, ids=[k[0] for k in KINKS])
def test_kink_subgradient_matches_torch(name, f, reference, inputs, _):
    reference = getattr(torch, reference) if isinstance(reference, str) else reference
    xs = [gg.tensor(np.array(a), requires_grad=True) for a in inputs]
    ts = [torch.tensor(np.array(a), requires_grad=True) for a in inputs]
    with np.errstate(divide="ignore"):
        y = f(*xs)
        y.backward(_upstream(y))
    reference(*ts).backward(torch.tensor(_upstream(y)))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-15)
