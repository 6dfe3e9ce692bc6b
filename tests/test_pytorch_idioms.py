"""PyTorch's habits on gradgate tensors: in-place updates, (values, indices), promotion,
dim=/keepdim=, and the tensor methods (docs/numpy-and-pytorch.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradgate as gg
from gradgate.gates import REGISTRY

torch = pytest.importorskip("torch")


# --- in-place operators ------------------------------------------------------------------

OPS = [
    ("+=", lambda p, v: p.__iadd__(v)),
    ("-=", lambda p, v: p.__isub__(v)),
    ("*=", lambda p, v: p.__imul__(v)),
    ("/=", lambda p, v: p.__itruediv__(v)),
    ("**=", lambda p, v: p.__ipow__(v)),
    ("@=", lambda p, v: p.__imatmul__(v)),
]


@pytest.mark.parametrize("what, op", OPS, ids=[o[0] for o in OPS])
def test_in_place_operators_act_in_place_under_no_grad(what, op):
    p = gg.tensor(np.full((2, 2), 2.0), requires_grad=True)
    before, array = p.version, p._data
    with gg.no_grad():
        q = op(p, gg.tensor(np.eye(2) * 3.0) if what == "@=" else 3.0)
    assert q is p and p._data is array and p.version > before
    expected = {"+=": 5.0, "-=": -1.0, "*=": 6.0, "/=": 2 / 3, "**=": 8.0, "@=": 6.0}[what]
    np.testing.assert_allclose(p.numpy(), np.full((2, 2), expected))


@pytest.mark.parametrize("what, op", OPS, ids=[o[0] for o in OPS])
def test_in_place_on_a_leaf_that_requires_grad_outside_no_grad_raises(what, op):
    p = gg.tensor(np.full((2, 2), 2.0), requires_grad=True)
    with pytest.raises(
        RuntimeError, match="a leaf tensor that requires grad is used in an in-place operation"
    ):
        op(p, gg.tensor(np.eye(2)) if what == "@=" else 3.0)


def test_a_hand_written_update_loop_trains_as_in_pytorch():
    """The issue's trap: ``p -= lr * p.grad`` rebound p and the loss stayed put."""
    rng = np.random.default_rng(0)
    X, w_true = rng.standard_normal((32, 3)), np.array([1.5, -2.0, 0.5])
    Y = X @ w_true
    w0 = rng.standard_normal(3)

    def train(lib, tensor):
        w = tensor(w0.copy(), requires_grad=True)
        x, y = tensor(X), tensor(Y)
        losses = []
        for _ in range(100):
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
            losses.append(float(loss.item()))
        return losses

    ours = train(gg, lambda a, **k: gg.tensor(a, dtype=np.float64, **k))
    theirs = train(torch, lambda a, **k: torch.tensor(a, dtype=torch.float64, **k))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert ours[-1] < 1e-6 < ours[0]


# --- (values, indices) -----------------------------------------------------------------

X = np.array([[1.0, 3.0, 3.0, 2.0], [4.0, 4.0, 4.0, 0.0], [2.0, 7.0, 1.0, 7.0]])


@pytest.mark.parametrize("name", ["max", "min", "median", "mode"])
@pytest.mark.parametrize("how", ["positional", "dim=", "keepdim"])
def test_a_dim_gives_values_and_indices_as_pytorch(name, how):
    x = gg.tensor(X, requires_grad=True)
    t = torch.tensor(X, requires_grad=True)
    args, kwargs = {"positional": ((1,), {}), "dim=": ((), {"dim": 1}), "keepdim": ((1, True), {})}[
        how
    ]
    ours = getattr(x, name)(*args, **kwargs)
    theirs = getattr(t, name)(*args, **kwargs)
    values, indices = ours  # unpacks as PyTorch's
    assert ours.values is values and ours.indices is indices
    np.testing.assert_array_equal(values.numpy(), theirs.values.detach().numpy())
    np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
    g = np.arange(1.0, values.size + 1).reshape(values.shape)
    values.backward(g)
    theirs.values.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("name", ["max", "min", "median"])
def test_axis_keeps_numpys_meaning(name):
    x = gg.tensor(X, requires_grad=True)
    got = getattr(gg, name)(x, axis=1)
    assert isinstance(got, gg.Tensor)
    np.testing.assert_array_equal(got.numpy(), getattr(np, name)(X, axis=1))
    np.testing.assert_array_equal(getattr(x, name)(axis=0).numpy(), getattr(np, name)(X, axis=0))


def test_max_of_two_tensors_is_the_element_wise_maximum():
    a, b = gg.tensor([1.0, 5.0]), gg.tensor([3.0, 2.0])
    np.testing.assert_array_equal(gg.max(a, b).numpy(), [3.0, 5.0])


def test_median_without_a_dim():
    x = gg.tensor([1.0, 4.0, 2.0, 3.0], requires_grad=True)
    assert x.median().item() == 2.0  # PyTorch's: the lower middle value
    assert gg.median(x).item() == 2.5 == np.median(x).item()  # NumPy's: their mean
    gg.median(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.5, 0.5])


# --- type promotion ------------------------------------------------------------------------


def test_promotion_follows_pytorch():
    f32 = gg.tensor([1.0, 2.0], requires_grad=True)
    f64 = gg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    i64 = gg.tensor([1, 2])
    cases = [
        (f32 * i64, np.float32),
        (f32 + 2.5, np.float32),
        (f32 * np.float64(2.0), np.float32),
        (f32 + f64, np.float64),
        (i64 * 2.5, np.float32),
        (f32 + gg.tensor(np.float64(2.0)), np.float32),
        (i64 + gg.tensor(2.5, dtype=np.float64), np.float64),
        (gg.where(np.array([True, False]), f32, i64), np.float32),
        (gg.concatenate([f32, i64]), np.float32),
        (f32 @ i64, np.float32),
    ]
    for k, (y, dtype) in enumerate(cases):
        assert y.dtype == dtype, (k, y.dtype)
    for a, b in [(f32, i64), (f32, f64), (i64, f64)]:
        ta = torch.tensor(a.numpy())
        tb = torch.tensor(b.numpy())
        assert np.dtype(str((ta * tb).dtype).removeprefix("torch.")) == (a * b).dtype


def test_promoted_inputs_get_gradients_in_their_own_dtype():
    f32 = gg.tensor([1.0, 2.0], requires_grad=True)
    scalar64 = gg.tensor(np.array(3.0), requires_grad=True)  # a 0-d float64 tensor
    y = f32 * scalar64
    assert y.dtype == np.float32
    y.sum().backward()
    assert f32.grad.dtype == np.float32 and scalar64.grad.dtype == np.float64
    assert scalar64.grad.item() == 3.0


def test_the_tensor_class_makes_arrays_from_lists():
    t = gg.Tensor([1.0, 2.0])
    assert isinstance(t.data, np.ndarray) and t.dtype == np.float32


# --- methods and functions -------------------------------------------------------------------


def test_sizes_and_dtypes():
    x = gg.zeros(2, 3)
    assert x.size == 6 and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.numel() == 6 and x.dim() == 2
    assert x.double().dtype == gg.float64 and x.half().dtype == gg.float16
    assert x.long().dtype == gg.int64 and x.int().dtype == gg.int32
    assert x.bool().dtype == gg.bool and x.float().dtype == gg.float32
    assert x.to(gg.float64).dtype == np.float64 and x.to("float64").dtype == np.float64
    assert x.to("cpu") is x


def test_transpose_of_two_dims_swaps_them_and_numpys_permutes():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = gg.tensor(a)
    np.testing.assert_array_equal(x.transpose(0, 2).numpy(), np.swapaxes(a, 0, 2))
    m = gg.tensor(a[0])
    np.testing.assert_array_equal(m.transpose(0, 1).numpy(), a[0].T)  # PyTorch: a swap
    np.testing.assert_array_equal(np.transpose(x, (1, 0, 2)).numpy(), a.transpose(1, 0, 2))
    np.testing.assert_array_equal(x.transpose((2, 0, 1)).numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), a.transpose(2, 0, 1))


def test_shape_methods_match_pytorch():
    a = np.random.default_rng(1).standard_normal((2, 1, 6))
    x, t = gg.tensor(a, requires_grad=True), torch.tensor(a)
    pairs = [
        (x.view(3, 4), t.view(3, 4)),
        (x.view_as(gg.zeros(12)), t.view_as(torch.zeros(12))),
        (x.reshape(-1, 2), t.reshape(-1, 2)),
        (x.expand(3, -1, 4, -1), t.expand(3, -1, 4, -1)),
        (x.contiguous(), t.contiguous()),
        (x.flatten(), t.flatten()),
        (x.flatten(1), t.flatten(1)),
        (x.flatten(0, 1), t.flatten(0, 1)),
        (x.unflatten(2, (2, 3)), t.unflatten(2, (2, 3))),
        (x.unsqueeze(0), t.unsqueeze(0)),
        (x.unsqueeze(-1), t.unsqueeze(-1)),
        (x.squeeze(1), t.squeeze(1)),
        (x.squeeze(0), t.squeeze(0)),
        (x.squeeze(), t.squeeze()),
        (gg.cat([x, x], dim=2), torch.cat([t, t], dim=2)),
        (x.clamp(min=0.0), t.clamp(min=0.0)),
        (x.clamp(max=0.5), t.clamp(max=0.5)),
        (gg.clamp(x, -0.5, 0.5), torch.clamp(t, -0.5, 0.5)),
        (x.sum(dim=2, keepdim=True), t.sum(dim=2, keepdim=True)),
        (x.mean(dim=(0, 2)), t.mean(dim=(0, 2))),
        (x.std(dim=2), t.std(dim=2)),
        (x.prod(dim=2), t.prod(dim=2)),
        (x.cumsum(2), t.cumsum(2)),
        (x.argmax(dim=2, keepdim=True), t.argmax(dim=2, keepdim=True)),
        (x.norm(p=1, dim=2), t.norm(p=1, dim=2)),
        (x.amax(dim=2), t.amax(dim=2)),
    ]
    for k, (ours, theirs) in enumerate(pairs):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, err_msg=str(k))
    for ours, theirs in [(x.chunk(4, 2), t.chunk(4, 2)), (x.unbind(2), t.unbind(2))]:
        assert len(ours) == len(theirs)
        for o, th in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(o.numpy(), th.numpy())


def test_comparisons_and_lerp():
    a, b = gg.tensor([1.0, 2.0, 3.0]), gg.tensor([3.0, 2.0, 1.0])
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        expected = getattr(torch, name)(torch.tensor(a.numpy()), torch.tensor(b.numpy()))
        np.testing.assert_array_equal(getattr(a, name)(b).numpy(), expected.numpy())
        np.testing.assert_array_equal(getattr(gg, name)(a, b).numpy(), expected.numpy())
    s, e, w = (
        gg.tensor(v, dtype=np.float64, requires_grad=True)
        for v in ([1.0, 2.0], [3.0, -1.0], [0.25, 0.5])
    )
    ts, te, tw = (torch.tensor(v.numpy(), requires_grad=True) for v in (s, e, w))
    s.lerp(e, w).sum().backward()
    torch.lerp(ts, te, tw).sum().backward()
    for ours, theirs in ((s, ts), (e, te), (w, tw)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())


def test_every_element_wise_gate_is_a_tensor_method():
    modules = ("elementwise", "trig", "exponential", "rounding")
    missing = [
        name
        for name, cls in REGISTRY.items()
        if cls.__module__.rsplit(".", 1)[-1] in modules
        and cls.function is not None
        and not any(callable(getattr(gg.Tensor, m, None)) for m in cls.methods)
    ]
    assert not missing, f"element-wise gates without a Tensor method: {missing}"
    x = gg.tensor([0.5], dtype=np.float64)
    assert x.asin().item() == pytest.approx(math.asin(0.5))
    assert x.erf().item() == pytest.approx(math.erf(0.5), rel=1e-15)


def test_factories():
    assert gg.full((2, 3), 7.0).numpy().tolist() == [[7.0] * 3] * 2
    x = gg.tensor([[1.0, 2.0]], dtype=np.float64)
    assert gg.zeros_like(x).dtype == np.float64 and gg.full_like(x, 3).numpy()[0, 1] == 3
    assert gg.ones_like(x, dtype=np.int64).dtype == np.int64
    assert gg.empty(2, 3).shape == (2, 3)
    np.testing.assert_allclose(gg.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_allclose(gg.logspace(0, 2, 3).numpy(), [1, 10, 100], rtol=1e-6)
    assert sorted(gg.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    r = gg.randint(3, 7, (100,))
    assert r.dtype == np.int64 and r.numpy().min() >= 3 and r.numpy().max() < 7
    m = gg.multinomial(gg.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), 2, replacement=True)
    assert m.tolist() == [[1, 1], [0, 0]]
    with pytest.raises(ValueError, match="cannot draw 2 samples"):
        gg.multinomial([0.0, 1.0], 2)
    a, b = gg.tensor([1.0, 2.0, 3.0], requires_grad=True), gg.tensor([4.0, 5.0])
    for indexing in ("ij", "xy"):
        ours = gg.meshgrid(a, b, indexing=indexing)
        theirs = torch.meshgrid(torch.tensor(a.numpy()), torch.tensor(b.numpy()), indexing=indexing)
        for o, t in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
    gg.meshgrid(a, b)[0].sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(
        gg.tril_indices(3, 4, 1).numpy(), torch.tril_indices(3, 4, 1).numpy()
    )


def test_erf_is_exact_to_float64():
    v = np.linspace(-6, 6, 2001)
    got = gg.erf(gg.tensor(v, dtype=np.float64)).numpy()
    np.testing.assert_array_equal(got, [math.erf(t) for t in v])
    np.testing.assert_array_equal(
        gg.erfc(gg.tensor(v, dtype=np.float64)).numpy(), [math.erfc(t) for t in v]
    )


def test_matrix_norms_match_numpy():
    a = np.random.default_rng(2).standard_normal((3, 4))
    x = gg.tensor(a, requires_grad=True)
    for ord in (None, "fro", 1, -1, np.inf, -np.inf):
        np.testing.assert_allclose(gg.norm(x, ord).numpy(), np.linalg.norm(a, ord))
        np.testing.assert_allclose(
            np.linalg.norm(x, ord, axis=(1, 0), keepdims=True).numpy(),
            np.linalg.norm(a, ord, axis=(1, 0), keepdims=True),
        )
    for ord in (None, 0, 1, 2, 3, np.inf, -np.inf, 0.5):
        np.testing.assert_allclose(gg.norm(x, ord, axis=1).numpy(), np.linalg.norm(a, ord, axis=1))
    for ord in (2, -2, "nuc"):  # from the singular values, through gg.linalg
        np.testing.assert_allclose(gg.norm(x, ord).numpy(), np.linalg.norm(a, ord))
    with pytest.raises(ValueError, match="is not a matrix norm"):
        gg.norm(x, 3)
    assert gg.check.gradcheck(lambda t: gg.norm(t, 1), [x])
    z = gg.tensor([[0.0, 0.0]], dtype=np.float64, requires_grad=True)
    gg.norm(z, axis=1).sum().backward()  # the subgradient 0 at 0, as PyTorch
    np.testing.assert_array_equal(z.grad.numpy(), [[0.0, 0.0]])
