"""The Tensor's user-facing surface: construction, dtypes, conversions and clear errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradgate as gg


def test_dtypes_follow_pytorch_for_python_numbers_and_keep_numpy_dtypes():
    assert gg.tensor(1.5).dtype == np.float32
    assert gg.tensor([1.0, 2.0]).dtype == np.float32
    assert gg.tensor([1, 2]).dtype == np.int64
    assert gg.tensor(np.zeros(2)).dtype == np.float64
    assert gg.tensor([1, 2], dtype=np.float64).dtype == np.float64
    x = gg.tensor([1.0, 2.0])
    assert (x * 2.5).dtype == np.float32  # Python scalars do not promote
    assert (x + 1).dtype == np.float32


def test_tensor_copies_its_data():
    a = np.ones(3)
    x = gg.tensor(a)
    a[0] = 5
    assert x.data[0] == 1


def test_attributes_and_conversions():
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.size == 4 and len(x) == 2
    assert x.T.shape == (2, 2) and x.T.numpy()[0, 1] == 3.0
    assert isinstance(x.numpy(), np.ndarray)
    assert gg.tensor(3.0).item() == 3.0
    assert float(gg.tensor([2.0])) == 2.0
    assert x.is_leaf and not (x * 2).is_leaf
    assert x.detach().requires_grad is False
    assert "requires_grad=True" in repr(x)
    assert "gate=Mul" in repr(x * 2)
    assert np.asarray(x).shape == (2, 2)


def test_operators_and_reflected_operators():
    x = gg.tensor([1.0, 2.0])
    np.testing.assert_allclose((2 - x).numpy(), [1.0, 0.0])
    np.testing.assert_allclose((2 / x).numpy(), [2.0, 1.0])
    np.testing.assert_allclose((2**x).numpy(), [2.0, 4.0])
    np.testing.assert_allclose((-x).numpy(), [-1.0, -2.0])
    np.testing.assert_allclose((np.ones(2) + x).numpy(), [2.0, 3.0])
    assert (x @ x).item() == 5.0
    assert ((x > 1.5).numpy() == [False, True]).all()
    assert (x == gg.tensor([1.0, 0.0])).numpy().tolist() == [True, False]


def test_getitem_basic_and_integer_arrays_with_scatter_add():
    x = gg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[1:, ::2].sum() + x[[0, 0, 2]].sum() + x[gg.tensor([1]), 3].sum()
    y.backward()
    expected = np.zeros((3, 4))
    expected[1:, ::2] += 1
    expected[0] += 2
    expected[2] += 1
    expected[1, 3] += 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_shape_functions():
    x = gg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert gg.expand_dims(x, 0).shape == (1, 2, 3)
    assert gg.squeeze(gg.expand_dims(x, 1)).shape == (2, 3)
    assert gg.swapaxes(x, 0, 1).shape == (3, 2)
    assert x.permute(1, 0).shape == (3, 2)
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert gg.stack([x, x], axis=1).shape == (2, 2, 3)
    assert gg.concatenate([x, x], axis=1).shape == (2, 6)
    assert gg.broadcast_to(x[0], (4, 3)).shape == (4, 3)
    assert gg.matmul(gg.ones(2, 3, 4), gg.ones(4)).shape == (2, 3)
    assert gg.dot(gg.ones(3), gg.ones(3)).item() == 3.0


def test_factories_are_seedable():
    gg.manual_seed(5)
    a = gg.randn(3, 2)
    gg.manual_seed(5)
    b = gg.randn(3, 2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32
    assert gg.zeros(2, 3).shape == (2, 3) and gg.ones((2,)).numpy().tolist() == [1.0, 1.0]
    assert gg.eye(3).numpy().trace() == 3.0
    assert gg.arange(4).dtype == np.int64 and gg.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert gg.rand(100).numpy().max() < 1.0
    with pytest.raises(ValueError, match="non-negative"):
        gg.zeros(-1)


def test_clear_errors():
    aligned = r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 != 4"
    with pytest.raises(ValueError, match=aligned):
        gg.matmul(gg.zeros(2, 3), gg.zeros(4, 5))
    with pytest.raises(ValueError, match=r"matvec: shapes \(3, 4\) and \(5,\) are not aligned"):
        gg.matvec(gg.zeros(3, 4), gg.zeros(5))
    with pytest.raises(TypeError, match="floating-point"):
        gg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar output"):
        (gg.ones(3, requires_grad=True) * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        gg.ones(3).sum().backward()
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        gg.reshape(gg.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match=r"sqerr: output shape \(3,\) and target shape \(4,\)"):
        gg.sqerr(gg.zeros(3), gg.zeros(4))
    with pytest.raises(ValueError, match="cross_entropy: labels must lie in"):
        gg.cross_entropy(gg.zeros(2, 3), gg.tensor([0, 3]))
    with pytest.raises(TypeError, match="Add: cannot take an input of type str"):
        gg.add(gg.zeros(2), "a")
    with pytest.raises(ValueError, match="reduction must be"):
        gg.mse(gg.zeros(2), gg.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        gg.sum(gg.zeros(2, 2), axis=2)
    with pytest.raises(ValueError, match="broadcast_to: cannot broadcast shape"):
        gg.broadcast_to(gg.zeros(3), (2, 4))


def test_mixed_float_dtypes_promote_and_gradients_keep_each_dtype():
    a = gg.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = gg.tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    y = (a * b).sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


@pytest.mark.parametrize("value", [1e4, -1e4])
def test_gates_are_stable_at_large_inputs(value):
    x = gg.tensor(np.full(3, value), requires_grad=True)
    ops = [
        gg.sigmoid,
        gg.tanh,
        gg.softplus,
        gg.relu,
        lambda v: gg.leaky_relu(v, 0.1),
        gg.abs,
        lambda v: gg.softmax(gg.stack([v, -v])),
        lambda v: gg.log_softmax(v),
        gg.logsumexp,
        lambda v: gg.binary_cross_entropy_with_logits(v, gg.zeros(3)),
        lambda v: gg.cross_entropy(gg.reshape(v, (1, 3)), gg.tensor([1])),
        lambda v: gg.clip(v, -1, 1),
        gg.var,
        gg.max,
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for op in ops:
            y = op(x)
            y.backward(np.ones(y.shape))
            assert not np.isnan(y.numpy()).any()
            assert np.isfinite(x.grad.numpy()).all()
            x.grad = None
        y = gg.exp(x)  # e^1e4 is not a float: inf, quietly, as in PyTorch
        assert np.isinf(y.numpy()).all() if value > 0 else (y.numpy() == 0).all()
