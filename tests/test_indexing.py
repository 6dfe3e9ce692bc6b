"""The selection, join, write and sort functions (gradgate.indexing), composed of gates:
each against NumPy's (or PyTorch's) forward, gradchecked to first and second order in
float64, kept float32, and its gradient compared with PyTorch's where PyTorch has it."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg

try:
    import torch
except ImportError:  # the NumPy comparisons still run
    torch = None

rng = np.random.default_rng(5)


def r(*shape):
    return rng.standard_normal(shape)


def apart(*shape):
    """Distinct values, so that sorting has no ties."""
    return (rng.permutation(int(np.prod(shape))) * 0.3 - 1.0).reshape(shape)


IDX = np.array([[0, 2, 1], [1, 1, 0]])
SCATTER = np.array([[0, 1], [2, 0]])  # distinct places: a scatter must not write twice
NP, T = "numpy", "torch"

# (id, gradgate function, reference library, reference function, float inputs)
CASES = [
    (
        "take",
        lambda a: gg.take(a, np.array([4, 0, 4])),
        NP,
        lambda a: np.take(a, [4, 0, 4]),
        [r(2, 3)],
    ),
    (
        "take axis",
        lambda a: gg.take(a, np.array([2, 0]), axis=1),
        NP,
        lambda a: np.take(a, [2, 0], axis=1),
        [r(2, 3)],
    ),
    (
        "take_along_axis",
        lambda a: gg.take_along_axis(a, IDX, 1),
        NP,
        lambda a: np.take_along_axis(a, IDX, 1),
        [r(2, 3)],
    ),
    (
        "take_along_axis broadcast",
        lambda a: gg.take_along_axis(a, np.array([[1], [0]]), 0),
        NP,
        lambda a: np.take_along_axis(a, np.array([[1], [0]]), 0),
        [r(2, 3)],
    ),
    (
        "gather",
        lambda a: gg.gather(a, 1, torch_long(IDX[:, :2])),
        T,
        lambda a: torch.gather(a, 1, torch.as_tensor(IDX[:, :2])),
        [r(3, 3)],
    ),
    (
        "index_select",
        lambda a: gg.index_select(a, 0, np.array([2, 0, 2])),
        T,
        lambda a: torch.index_select(a, 0, torch.tensor([2, 0, 2])),
        [r(3, 2)],
    ),
    ("flip all", gg.flip, NP, np.flip, [r(2, 3)]),
    (
        "flip dims",
        lambda a: gg.flip(a, dims=(0, 2)),
        T,
        lambda a: torch.flip(a, (0, 2)),
        [r(2, 3, 2)],
    ),
    ("roll flat", lambda a: gg.roll(a, 2), NP, lambda a: np.roll(a, 2), [r(2, 3)]),
    (
        "roll axes",
        lambda a: gg.roll(a, (1, -1), (0, 1)),
        T,
        lambda a: torch.roll(a, (1, -1), (0, 1)),
        [r(3, 4)],
    ),
    ("diagonal", lambda a: gg.diagonal(a, 1), T, lambda a: torch.diagonal(a, 1), [r(3, 4)]),
    (
        "diagonal axes",
        lambda a: gg.diagonal(a, -1, 0, 2),
        NP,
        lambda a: np.diagonal(a, -1, 0, 2),
        [r(3, 2, 4)],
    ),
    ("trace", lambda a: a.trace(), T, lambda a: torch.trace(a), [r(3, 4)]),
    (
        "linalg.trace",
        lambda a: gg.linalg.trace(a, 1),
        NP,
        lambda a: np.linalg.trace(a, offset=1),
        [r(2, 3, 3)],
    ),
    ("diag vector", lambda v: gg.diag(v, 1), T, lambda v: torch.diag(v, 1), [r(3)]),
    ("diag matrix", lambda a: gg.diag(a, -1), T, lambda a: torch.diag(a, -1), [r(3, 3)]),
    ("tril", lambda a: gg.tril(a, -1), T, lambda a: torch.tril(a, -1), [r(2, 3, 4)]),
    ("triu", lambda a: gg.triu(a, 1), T, lambda a: torch.triu(a, 1), [r(4, 3)]),
    (
        "repeat",
        lambda a: gg.repeat(a, [1, 0, 2], axis=1),
        NP,
        lambda a: np.repeat(a, [1, 0, 2], axis=1),
        [r(2, 3)],
    ),
    (
        "repeat_interleave",
        lambda a: gg.repeat_interleave(a, 2),
        T,
        lambda a: torch.repeat_interleave(a, 2),
        [r(2, 2)],
    ),
    ("tile", lambda a: gg.tile(a, (2, 1, 3)), T, lambda a: torch.tile(a, (2, 1, 3)), [r(2, 3)]),
    (
        "pad numpy",
        lambda a: gg.pad(a, ((1, 0), (2, 1)), mode="reflect"),
        NP,
        lambda a: np.pad(a, ((1, 0), (2, 1)), mode="reflect"),
        [r(3, 4)],
    ),
    (
        "pad int",
        lambda a: gg.pad(a, 1, constant_values=2.0),
        NP,
        lambda a: np.pad(a, 1, constant_values=2.0),
        [r(2, 3)],
    ),
    (
        "torch_pad",
        lambda a: gg.torch_pad(a, (1, 2), mode="replicate"),
        T,
        lambda a: torch.nn.functional.pad(a, (1, 2), mode="replicate"),
        [r(2, 3)],
    ),
    (
        "split",
        lambda a: gg.split(a, 3, axis=1)[1],
        NP,
        lambda a: np.split(a, 3, axis=1)[1],
        [r(2, 6)],
    ),
    (
        "array_split",
        lambda a: gg.concatenate(gg.array_split(a, 3)[::-1]),
        NP,
        lambda a: np.concatenate(np.array_split(a, 3)[::-1]),
        [r(7)],
    ),
    ("hsplit", lambda a: gg.hsplit(a, [1, 3])[2], NP, lambda a: np.hsplit(a, [1, 3])[2], [r(2, 5)]),
    ("vsplit", lambda a: gg.vsplit(a, 2)[0], NP, lambda a: np.vsplit(a, 2)[0], [r(4, 2)]),
    (
        "hstack",
        lambda a, b: gg.hstack([a, b]),
        NP,
        lambda a, b: np.hstack([a, b]),
        [r(2, 3), r(2, 1)],
    ),
    ("vstack", lambda a, b: gg.vstack([a, b]), NP, lambda a, b: np.vstack([a, b]), [r(3), r(2, 3)]),
    (
        "column_stack",
        lambda a, b: gg.column_stack([a, b]),
        NP,
        lambda a, b: np.column_stack([a, b]),
        [r(3), r(3, 2)],
    ),
    (
        "moveaxis",
        lambda a: gg.moveaxis(a, (0, 1), (2, 0)),
        NP,
        lambda a: np.moveaxis(a, (0, 1), (2, 0)),
        [r(2, 3, 4)],
    ),
    ("ravel", gg.ravel, NP, np.ravel, [r(2, 3)]),
    (
        "scatter",
        lambda a, s: gg.scatter(a, 0, SCATTER, s),
        T,
        lambda a, s: torch.scatter(a, 0, torch.as_tensor(SCATTER), s),
        [r(3, 2), r(2, 2)],
    ),
    (
        "scatter_add",
        lambda a, s: gg.scatter_add(a, 1, IDX, s),
        T,
        lambda a, s: torch.scatter_add(a, 1, torch.as_tensor(IDX), s),
        [r(2, 4), r(2, 3)],
    ),
    (
        "index_add",
        lambda a, s: gg.index_add(a, 1, np.array([0, 2, 0]), s, alpha=2.0),
        T,
        lambda a, s: torch.index_add(a, 1, torch.tensor([0, 2, 0]), s, alpha=2.0),
        [r(2, 3), r(2, 3)],
    ),
    (
        "put_along_axis",
        lambda a, v: gg.put_along_axis(a, np.array([[2], [0]]), v, 1),
        NP,
        lambda a, v: _put(a, np.array([[2], [0]]), v, 1),
        [r(2, 3), r(2, 1)],
    ),
    (
        "masked_fill",
        lambda a: gg.masked_fill(a, np.array([True, False, True]), 0.5),
        T,
        lambda a: a.masked_fill(torch.tensor([True, False, True]), 0.5),
        [r(2, 3)],
    ),
    ("sort numpy", lambda a: gg.sort(a, axis=0), NP, lambda a: np.sort(a, axis=0), [apart(3, 4)]),
    (
        "sort flat",
        lambda a: gg.sort(a, axis=None),
        NP,
        lambda a: np.sort(a, axis=None),
        [apart(3, 2)],
    ),
    (
        "sort torch",
        lambda a: gg.sort(a, 1, descending=True).values,
        T,
        lambda a: torch.sort(a, 1, descending=True).values,
        [apart(3, 4)],
    ),
    ("topk", lambda a: gg.topk(a, 2).values, T, lambda a: torch.topk(a, 2).values, [apart(3, 4)]),
    (
        "topk smallest",
        lambda a: gg.topk(a, 2, dim=0, largest=False).values,
        T,
        lambda a: torch.topk(a, 2, dim=0, largest=False).values,
        [apart(3, 4)],
    ),
]


def torch_long(a):
    return a.astype(np.int64)


def _put(a, index, values, axis):
    out = a.copy()
    np.put_along_axis(out, index, values, axis)
    return out


IDS = [c[0] for c in CASES]


def _tensors(inputs, dtype=np.float64):
    return [gg.tensor(np.array(a, dtype=dtype), requires_grad=True) for a in inputs]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_is_the_reference(case):
    name, f, library, reference, inputs = case
    if library == T:
        if torch is None:
            pytest.skip("PyTorch is not installed")
        expected = reference(*[torch.tensor(a) for a in inputs]).numpy()
    else:
        expected = reference(*inputs)
    np.testing.assert_allclose(f(*_tensors(inputs)).numpy(), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_and_gradgradcheck(case):
    _, f, _, _, inputs = case
    xs = _tensors(inputs)
    assert gg.check.gradcheck(f, xs)
    assert gg.check.gradgradcheck(f, xs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(case):
    _, f, _, _, inputs = case
    xs = _tensors(inputs, np.float32)
    y = f(*xs)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert all(x.grad is None or x.grad.dtype == np.float32 for x in xs)


TORCH_CASES = [c for c in CASES if c[2] == T]


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_gradient_is_torchs(case):
    _, f, _, reference, inputs = case
    xs = _tensors(inputs)
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    y, ty = f(*xs), reference(*ts)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14)


# --- what the conventions promise ------------------------------------------------------


def test_sort_returns_values_and_indices_when_asked_pytorchs_way():
    x = gg.tensor(np.array([[3.0, 1.0, 2.0]]), requires_grad=True)
    values, indices = gg.sort(x)  # PyTorch sorts the last dim when none is named
    np.testing.assert_array_equal(values.numpy(), [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(indices.numpy(), [[1, 2, 0]])
    assert gg.sort(x, 1).indices.dtype == np.int64
    assert isinstance(gg.sort(x, axis=1), gg.Tensor)  # NumPy's way: the values alone
    assert isinstance(gg.sort(x, dim=1), tuple)


def test_descending_sort_keeps_ties_in_order_as_a_stable_sort():
    x = gg.tensor(np.array([1.0, 2.0, 1.0, 2.0]))
    np.testing.assert_array_equal(gg.sort(x, descending=True).indices.numpy(), [1, 3, 0, 2])
    np.testing.assert_array_equal(gg.argsort(x, descending=True).numpy(), [1, 3, 0, 2])


def test_topk_and_argsort_indices_match_numpy():
    a = apart(4, 5)
    np.testing.assert_array_equal(gg.argsort(gg.tensor(a), axis=0).numpy(), np.argsort(a, 0))
    np.testing.assert_array_equal(
        gg.topk(gg.tensor(a), 3).indices.numpy(), np.argsort(-a, axis=-1)[:, :3]
    )


def test_writing_one_place_twice_raises_instead_of_picking_a_winner():
    x = gg.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(ValueError, match="more than once"):
        gg.scatter(x, 0, np.array([1, 1]), gg.tensor(np.array([1.0, 2.0])))
    y = gg.scatter_add(x, 0, np.array([1, 1]), gg.tensor(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(y.numpy(), [0.0, 3.0, 0.0])


def test_scatter_writes_a_number_and_its_gradient_skips_the_written_places():
    x = gg.tensor(np.ones((2, 2)), requires_grad=True)
    y = gg.scatter(x, 1, np.array([[1], [0]]), 5.0)
    np.testing.assert_array_equal(y.numpy(), [[1.0, 5.0], [5.0, 1.0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0], [0.0, 1.0]])


def test_split_refuses_unequal_sections_as_numpy_does():
    with pytest.raises(ValueError, match="equal parts"):
        gg.split(gg.tensor(np.arange(5.0)), 2)
    assert [p.shape for p in gg.array_split(gg.tensor(np.arange(5.0)), 2)] == [(3,), (2,)]


def test_indices_must_be_integers():
    with pytest.raises(TypeError, match="indices must be integers"):
        gg.take(gg.tensor(np.ones(3)), np.array([0.5]))


def test_gather_refuses_an_index_larger_than_the_tensor():
    with pytest.raises(ValueError, match="larger than the tensor"):
        gg.gather(gg.tensor(np.ones((2, 2))), 1, np.zeros((3, 1), dtype=np.int64))


def test_pad_refuses_negative_widths_and_unknown_modes():
    x = gg.tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match="must not be negative"):
        gg.pad(x, -1)
    with pytest.raises(ValueError, match="is not one of"):
        gg.pad(x, 1, mode="mean")


def test_tensor_methods_follow_pytorch():
    x = gg.tensor(apart(2, 3))
    np.testing.assert_array_equal(
        x.gather(1, np.array([[0], [2]])).numpy(),
        np.take_along_axis(x.numpy(), np.array([[0], [2]]), 1),
    )
    np.testing.assert_array_equal(x.flip(0, 1).numpy(), x.numpy()[::-1, ::-1])
    np.testing.assert_array_equal(x.topk(1).values.numpy(), x.numpy().max(1, keepdims=True))
    np.testing.assert_array_equal(
        x.masked_fill(x.numpy() > 0, 0.0).numpy(), np.minimum(x.numpy(), 0.0)
    )
    np.testing.assert_array_equal(x.tile((2,)).numpy(), np.tile(x.numpy(), 2))
    assert not hasattr(x, "repeat")  # NumPy's and PyTorch's repeat differ: see the docs
