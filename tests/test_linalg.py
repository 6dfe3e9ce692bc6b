"""gradgate.linalg and the products composed in functional (dot, inner, tensordot, kron,
cross, einsum forms): values against NumPy, gradients to first and second order, PyTorch's
gradients where it has the function, and the errors where a gradient does not exist."""

from __future__ import annotations

import numpy as np
import pytest

import gradgate as gg

try:
    import torch
except ImportError:  # the NumPy comparisons still run
    torch = None

rng = np.random.default_rng(3)


def r(*shape):
    return rng.standard_normal(shape)


def spd(n):
    b = r(n, n)
    return b @ b.T + n * np.eye(n)


def lopsided(n):
    """Symmetric positive definite in the lower triangle, something else above it."""
    return spd(n) + np.triu(r(n, n), 1)


def _positive_r(a):
    """NumPy's R with its rows' signs flipped to make the diagonal positive."""
    R = np.linalg.qr(a, mode="r")
    return R * np.sign(np.diag(R))[:, None]


# (id, gradgate function, NumPy function, float inputs)
CASES = [
    ("dot scalar", gg.dot, np.dot, [np.array(2.0), r(3)]),
    ("dot vectors", gg.dot, np.dot, [r(4), r(4)]),
    ("dot matrices", gg.dot, np.dot, [r(2, 3), r(3, 4)]),
    ("dot N-d, 1-d", gg.dot, np.dot, [r(2, 3, 4), r(4)]),
    ("dot N-d, M-d", gg.dot, np.dot, [r(2, 3, 4), r(5, 4, 2)]),
    ("inner", gg.inner, np.inner, [r(2, 3), r(4, 3)]),
    ("vdot", gg.vdot, np.vdot, [r(2, 3), r(2, 3)]),
    (
        "tensordot int",
        lambda a, b: gg.tensordot(a, b, 2),
        lambda a, b: np.tensordot(a, b, 2),
        [r(2, 3, 4), r(3, 4, 5)],
    ),
    (
        "tensordot pairs",
        lambda a, b: gg.tensordot(a, b, ([0, 2], [1, 0])),
        lambda a, b: np.tensordot(a, b, ([0, 2], [1, 0])),
        [r(2, 3, 4), r(4, 2, 5)],
    ),
    ("kron", gg.kron, np.kron, [r(2, 3), r(3, 2)]),
    ("kron mixed", gg.kron, np.kron, [r(3), r(2, 2)]),
    ("cross", gg.cross, np.cross, [r(4, 3), r(3)]),
    (
        "cross axis",
        lambda a, b: gg.cross(a, b, axis=0),
        lambda a, b: np.cross(a, b, axis=0),
        [r(3, 2), r(3, 2)],
    ),
    (
        "einsum ellipsis",
        lambda a, b: gg.einsum("...ij,...jk", a, b),
        lambda a, b: np.einsum("...ij,...jk", a, b),
        [r(2, 3, 4), r(4, 2)],
    ),
    (
        "einsum diagonal",
        lambda a: gg.einsum("iji->j", a),
        lambda a: np.einsum("iji->j", a),
        [r(3, 2, 3)],
    ),
    (
        "einsum four",
        lambda a, b, c, d: gg.einsum("ab,bc,cd,de->ae", a, b, c, d),
        lambda a, b, c, d: np.einsum("ab,bc,cd,de->ae", a, b, c, d),
        [r(2, 3), r(3, 4), r(4, 2), r(2, 3)],
    ),
    ("inv", gg.linalg.inv, np.linalg.inv, [spd(3)]),
    ("solve", gg.linalg.solve, np.linalg.solve, [spd(3), r(3, 2)]),
    ("det", gg.linalg.det, np.linalg.det, [r(3, 3)]),
    (
        "slogdet",
        lambda a: gg.linalg.slogdet(a).logabsdet,
        lambda a: np.linalg.slogdet(a)[1],
        [r(3, 3)],
    ),
    (
        "cholesky upper",
        lambda a: gg.linalg.cholesky(a, upper=True),
        lambda a: np.linalg.cholesky(a).T,
        [spd(3)],
    ),
    ("eigvalsh", gg.linalg.eigvalsh, np.linalg.eigvalsh, [spd(4)]),
    ("svdvals", gg.linalg.svdvals, lambda a: np.linalg.svd(a, compute_uv=False), [r(4, 3)]),
    ("qr r", lambda a: gg.linalg.qr(a, mode="r"), _positive_r, [r(4, 3)]),
    ("pinv", gg.linalg.pinv, np.linalg.pinv, [r(4, 3)]),
    ("norm", gg.linalg.norm, np.linalg.norm, [r(3, 4)]),
    (
        "norm vector p",
        lambda a: gg.linalg.norm(a, 3, axis=1),
        lambda a: np.linalg.norm(a, 3, axis=1),
        [r(3, 4)],
    ),
    (
        "norm inf",
        lambda a: gg.linalg.norm(a, np.inf, axis=0, keepdims=True),
        lambda a: np.linalg.norm(a, np.inf, axis=0, keepdims=True),
        [r(3, 4)],
    ),
    ("norm nuc", lambda a: gg.linalg.norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc"), [r(4, 3)]),
    (
        "norm 2 batch",
        lambda a: gg.linalg.norm(a, 2, axis=(1, 2)),
        lambda a: np.linalg.norm(a, 2, axis=(1, 2)),
        [r(2, 4, 3)],
    ),
    ("norm 1", lambda a: gg.linalg.norm(a, 1), lambda a: np.linalg.norm(a, 1), [r(3, 4)]),
    (
        "norm -inf matrix",
        lambda a: gg.linalg.norm(a, -np.inf, axis=(0, 1), keepdims=True),
        lambda a: np.linalg.norm(a, -np.inf, axis=(0, 1), keepdims=True),
        [r(3, 4)],
    ),
    ("trace", lambda a: gg.linalg.trace(a), lambda a: np.linalg.trace(a), [r(2, 3, 3)]),
    (
        "eigvalsh upper triangle",
        lambda a: gg.linalg.eigvalsh(a, UPLO="U"),
        lambda a: np.linalg.eigvalsh(a, UPLO="U"),
        [lopsided(4).T],
    ),
    (
        "eigh lower triangle",
        lambda a: gg.linalg.eigh(a, UPLO="L").eigenvalues,
        lambda a: np.linalg.eigh(a).eigenvalues,
        [lopsided(4)],
    ),
    ("pinv rtol", lambda a: gg.linalg.pinv(a, 1e-15), np.linalg.pinv, [r(3, 5)]),
    (
        "lstsq tall",
        lambda a, b: gg.linalg.lstsq(a, b).solution,
        lambda a, b: np.linalg.lstsq(a, b)[0],
        [r(5, 3), r(5, 2)],
    ),
    (
        "lstsq wide, least norm",
        lambda a, b: gg.linalg.lstsq(a, b).solution,
        lambda a, b: np.linalg.lstsq(a, b)[0],
        [r(3, 5), r(3)],
    ),
    (
        "lstsq residuals",
        lambda a, b: gg.linalg.lstsq(a, b).residuals,
        lambda a, b: np.linalg.lstsq(a, b)[1],
        [r(5, 3), r(5, 2)],
    ),
    (
        "vector_norm",
        lambda a: gg.linalg.vector_norm(a, 3, axis=(0, 2)),
        lambda a: np.linalg.vector_norm(a, ord=3, axis=(0, 2)),
        [r(2, 3, 4)],
    ),
    (
        "vector_norm flattened",
        lambda a: gg.linalg.vector_norm(a, keepdims=True),
        lambda a: np.linalg.vector_norm(a, keepdims=True),
        [r(2, 3)],
    ),
    (
        "matrix_norm nuc batch",
        lambda a: gg.linalg.matrix_norm(a, "nuc"),
        lambda a: np.linalg.matrix_norm(a, ord="nuc"),
        [r(2, 4, 3)],
    ),
    (
        "matrix_norm inf",
        lambda a: gg.linalg.matrix_norm(a, np.inf, keepdims=True),
        lambda a: np.linalg.matrix_norm(a, ord=np.inf, keepdims=True),
        [r(3, 4)],
    ),
]
IDS = [c[0] for c in CASES]


def _tensors(inputs, dtype=np.float64):
    return [gg.tensor(np.array(a, dtype=dtype), requires_grad=True) for a in inputs]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_is_numpys(case):
    _, f, reference, inputs = case
    np.testing.assert_allclose(
        f(*_tensors(inputs)).numpy(), reference(*inputs), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_and_gradgradcheck(case):
    _, f, _, inputs = case
    xs = _tensors(inputs)
    assert gg.check.gradcheck(f, xs)
    assert gg.check.gradgradcheck(f, xs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(case):
    _, f, _, inputs = case
    xs = _tensors(inputs, np.float32)
    y = f(*xs)
    assert y.dtype == np.float32
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert all(x.grad.dtype == np.float32 for x in xs)


TORCH = [
    ("kron", gg.kron, lambda a, b: torch.kron(a, b), [r(2, 3), r(3, 2)]),
    ("cross", gg.cross, lambda a, b: torch.linalg.cross(a, b), [r(4, 3), r(4, 3)]),
    (
        "tensordot",
        lambda a, b: gg.tensordot(a, b, ([1], [0])),
        lambda a, b: torch.tensordot(a, b, ([1], [0])),
        [r(2, 3), r(3, 4)],
    ),
    ("norm", lambda a: gg.linalg.norm(a, axis=1), lambda a: torch.linalg.norm(a, dim=1), [r(3, 4)]),
    (
        "matrix norm 2",
        lambda a: gg.linalg.norm(a, 2),
        lambda a: torch.linalg.matrix_norm(a, 2),
        [r(4, 3)],
    ),
    (
        "eigh vectors",
        lambda a: gg.linalg.eigh(a).eigenvectors[:, -1] ** 2,
        lambda a: torch.linalg.eigh((a + a.mT) / 2).eigenvectors[:, -1] ** 2,
        [spd(4)],
    ),
    (
        "svd vectors",
        lambda a: gg.linalg.svd(a, full_matrices=False).U[:, 0] ** 2,
        lambda a: torch.linalg.svd(a, full_matrices=False).U[:, 0] ** 2,
        [r(4, 3)],
    ),
    (
        "lstsq",
        lambda a, b: gg.linalg.lstsq(a, b).solution,
        lambda a, b: torch.linalg.lstsq(a, b).solution,
        [r(5, 3), r(5, 2)],
    ),
    (
        "vector_norm",
        lambda a: gg.linalg.vector_norm(a, 3, dim=1, keepdim=True),
        lambda a: torch.linalg.vector_norm(a, 3, dim=1, keepdim=True),
        [r(3, 4)],
    ),
    (
        "matrix_norm",
        lambda a: gg.linalg.matrix_norm(a, "nuc", dim=(0, 2)),
        lambda a: torch.linalg.matrix_norm(a, "nuc", dim=(0, 2)),
        [r(3, 2, 4)],
    ),
]


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("case", TORCH, ids=[c[0] for c in TORCH])
def test_gradient_is_torchs(case):
    _, f, reference, inputs = case
    xs = _tensors(inputs)
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    y, ty = f(*xs), reference(*ts)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


# --- the factorizations' results -----------------------------------------------------


def test_factors_rebuild_the_matrix_and_follow_the_sign_conventions():
    a = r(5, 3)
    U, S, Vh = gg.linalg.svd(gg.tensor(a), full_matrices=False)
    np.testing.assert_allclose((U.numpy() * S.numpy()) @ Vh.numpy(), a, atol=1e-12)
    biggest = np.take_along_axis(U.numpy(), np.abs(U.numpy()).argmax(0)[None], 0)
    assert np.all(biggest > 0)
    Q, R = gg.linalg.qr(gg.tensor(a))
    np.testing.assert_allclose(Q.numpy() @ R.numpy(), a, atol=1e-12)
    assert np.all(np.diag(R.numpy()) > 0)
    A = spd(4)
    w, V = gg.linalg.eigh(gg.tensor(A))
    np.testing.assert_allclose(V.numpy() @ np.diag(w.numpy()) @ V.numpy().T, A, atol=1e-10)
    assert np.all(np.diff(w.numpy()) > 0)


def test_slogdet_sign_is_a_constant():
    sign, logdet = gg.linalg.slogdet(
        gg.tensor(np.array([[0.0, 2.0], [1.0, 0.0]]), requires_grad=True)
    )
    assert sign.item() == -1.0 and not sign.requires_grad
    assert logdet.item() == pytest.approx(np.log(2.0))


# --- where a gradient does not exist, backward raises -------------------------------


def test_eigenvectors_of_a_repeated_eigenvalue_have_no_gradient():
    A = gg.tensor(np.diag([1.0, 1.0, 2.0]), requires_grad=True)
    w, V = gg.linalg.eigh(A)
    with pytest.raises(ValueError, match="eigh: two eigenvalues are equal"):
        gg.sum(V * V * np.arange(3.0)).backward()
    A.grad = None
    gg.sum(gg.linalg.eigvalsh(A) * np.array([1.0, 2.0, 3.0])).backward()  # fine
    np.testing.assert_allclose(np.diag(A.grad.numpy()), [1.0, 2.0, 3.0])


def test_det_of_a_singular_matrix_raises_in_backward_not_forward():
    A = gg.tensor(np.array([[1.0, 2.0], [2.0, 4.0]]), requires_grad=True)
    d = gg.linalg.det(A)
    assert d.item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="det: the gradient needs the inverse"):
        d.backward()


def test_singular_inputs_and_non_finite_ones_raise_value_errors():
    with pytest.raises(ValueError, match="inv: the matrix is singular"):
        gg.linalg.inv(gg.tensor(np.ones((2, 2))))
    with pytest.raises(ValueError, match="not positive definite"):
        gg.linalg.cholesky(gg.tensor(-np.eye(2)))
    with pytest.raises(ValueError, match="holds inf or NaN"):
        gg.linalg.svd(gg.tensor(np.array([[np.inf, 1.0], [0.0, 1.0]])))


def test_rank_deficient_pinv_and_qr_have_no_gradient():
    A = gg.tensor(np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]), requires_grad=True)
    with pytest.raises(ValueError, match="rank-deficient"):
        gg.sum(gg.linalg.pinv(A)).backward()
    with pytest.raises(ValueError, match="does not have full rank"):
        gg.sum(gg.linalg.qr(A).R).backward()


def test_lstsq_is_numpys_and_needs_full_rank_for_the_gradient_in_a():
    a = r(5, 3)
    a[:, 2] = a[:, 0] + a[:, 1]  # rank 2
    b = r(5)
    A, bt = gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True)
    got = gg.linalg.lstsq(A, bt)
    x, residuals, rank, s = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(got.solution.numpy(), x, rtol=1e-9, atol=1e-12)
    assert got.rank == rank == 2 and got.residuals.shape == residuals.shape == (0,)
    np.testing.assert_allclose(got.singular_values.numpy(), s, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="rank-deficient.*lstsq"):
        gg.sum(got.solution).backward()
    only_b = gg.linalg.lstsq(a, bt).solution  # A a constant: the gradient in b exists
    gg.sum(only_b).backward()
    np.testing.assert_allclose(bt.grad.numpy(), np.linalg.pinv(a).T @ np.ones(3), atol=1e-12)
    with pytest.raises(ValueError, match="lstsq: A must be a matrix"):
        gg.linalg.lstsq(gg.tensor(r(2, 5, 3)), gg.tensor(r(2, 5)))


def test_full_svd_of_a_non_square_matrix_is_refused():
    with pytest.raises(ValueError, match="full_matrices=False"):
        gg.linalg.svd(gg.tensor(r(3, 2)))
    assert gg.linalg.svd(gg.tensor(r(2, 2))).U.shape == (2, 2)  # square: full is reduced


def test_einsum_checks_its_subscripts():
    x = gg.tensor(r(2, 3))
    with pytest.raises(ValueError, match="names axes of sizes"):
        gg.einsum("ij,ij->i", x, gg.tensor(r(2, 4)))
    with pytest.raises(ValueError, match="for an operand of"):
        gg.einsum("ijk->i", x)
    with pytest.raises(TypeError, match="subscripts come first"):
        gg.einsum(x, "ij")


def test_einsum_gradient_is_an_einsum_to_second_order_for_a_batched_diagonal():
    a = gg.tensor(r(2, 3, 3), requires_grad=True)
    b = gg.tensor(r(3, 2), requires_grad=True)
    assert gg.check.gradgradcheck(lambda a, b: gg.einsum("bii,ik->bk", a, b), [a, b])


def test_tensor_methods_for_products():
    a, b = gg.tensor(r(3)), gg.tensor(r(3))
    assert a.dot(b).item() == pytest.approx(float(np.dot(a.numpy(), b.numpy())))
    np.testing.assert_allclose(a.cross(b).numpy(), np.cross(a.numpy(), b.numpy()))
